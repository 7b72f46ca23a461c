import type { Outcome } from '../../src/agent/outcome.js';
import {
  startRecorded,
  type AheadTask,
  type AttemptControl,
  type AttemptResult,
  type AttemptSpec,
  type Executor,
} from '../../src/executor/types.js';

export interface FakeAttempt {
  spec: AttemptSpec;
  control: AttemptControl;
  /** Ends the attempt with this result. */
  finish(result: AttemptResult): void;
}

/**
 * An executor whose attempts end when the test says so. Every attempt whose agent it starts is
 * recorded, in order (`attempts`); `started(id)` waits for a task's next one. Like the local
 * executor, it starts an attempt's agent only once the attempt's start is on record, and none
 * when the attempt was stopped by then.
 */
export class FakeExecutor implements Executor {
  readonly attempts: FakeAttempt[] = [];
  /** Every list of tasks handed over to prepare ahead of time, in order. */
  readonly ahead: AheadTask[][] = [];
  /** Calls of drain, and what each waits for (the test settles it; by default nothing). */
  drains = 0;
  drainUntil: Promise<void> = Promise.resolve();
  private readonly waiting: Array<() => void> = [];

  /** For each list in `ahead`: the tasks whose attempts had been handed over by then. */
  readonly startedBeforeAhead: string[][] = [];
  /** The task of every attempt handed over, in order (its agent starts once its start is on record: `attempts`). */
  readonly handed: string[] = [];

  prepareAhead(tasks: AheadTask[]): void {
    this.ahead.push(tasks);
    this.startedBeforeAhead.push([...this.handed]);
  }

  drain(): Promise<void> {
    this.drains += 1;
    return this.drainUntil;
  }

  /** The ids of the latest list handed over to prepare ahead of time. */
  aheadIds(): string[] {
    return (this.ahead.at(-1) ?? []).map((task) => task.id);
  }

  /** As a real executor: its agent starts (the attempt shows here) once the start is on record (AttemptControl.recorded). */
  async run(spec: AttemptSpec, control: AttemptControl): Promise<AttemptResult> {
    this.handed.push(spec.task.id);
    if (!(await startRecorded(control)) || control.signal.aborted)
      return { outcome: { status: 'interrupted', reason: 'stopped before the agent started' } };
    return new Promise((resolve) => {
      this.attempts.push({ spec, control, finish: resolve });
      for (const wake of this.waiting.splice(0)) wake();
    });
  }

  /** The `nth` attempt of a task (1-based), once the engine has handed it over. */
  async started(taskId: string, nth = 1, timeoutMs = 5_000): Promise<FakeAttempt> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.attempts.filter((attempt) => attempt.spec.task.id === taskId)[nth - 1];
      if (found) return found;
      if (Date.now() > deadline)
        throw new Error(`attempt ${nth} of ${taskId} never started (started: ${this.startedIds().join(', ') || 'none'})`);
      await new Promise<void>((resolve) => {
        this.waiting.push(resolve);
        setTimeout(resolve, 20);
      });
    }
  }

  startedIds(): string[] {
    return this.attempts.map((attempt) => attempt.spec.task.id);
  }
}

export const succeeded = (commits = 1): AttemptResult => ({
  outcome: { status: 'succeeded' },
  exit: { exitCode: 0, signal: null },
  turns: 2,
  costUsd: 0.01,
  commits: Array.from({ length: commits }, (_, index) => ({ sha: `sha${index}`, subject: `commit ${index}` })),
});

export const failedWith = (
  failure: Extract<Outcome, { status: 'failed' }>['failure'],
  reason = 'boom',
  apiStatus?: number,
): AttemptResult => ({
  outcome: apiStatus === undefined ? { status: 'failed', failure, reason } : { status: 'failed', failure, reason, apiStatus },
  exit: { exitCode: 1, signal: null },
});

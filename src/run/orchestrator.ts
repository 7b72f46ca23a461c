import type { AttemptHandle, AttemptRequest, AttemptResult } from './attempt.js';
import type { OrchConfig } from '../config/schema.js';
import { UserError, errorMessage } from '../errors.js';
import type { LimitReason } from '../events.js';
import type { ConflictIndex } from '../graph/conflicts.js';
import { blockedTasks, pickReady, type SchedulableTask } from '../scheduler/policy.js';
import { attemptFileName } from '../state/paths.js';
import type { AttemptKind, AttemptRecord, RunStatus, TaskRecord } from '../state/registry.js';
import type { RunStore } from '../state/store.js';
import { decideAfterAttempt, type Decision } from './decide.js';
import { summarize } from './summary.js';

export interface ConcurrencyLimit {
  value: number;
  reason: LimitReason;
}

export interface OrchestratorDeps {
  store: RunStore;
  config: OrchConfig;
  conflicts: ConflictIndex;
  startAttempt: (request: AttemptRequest) => AttemptHandle;
  /** How many agents may run right now, and what decides it. */
  limit: (running: number) => ConcurrencyLimit;
}

export interface RunOutcome {
  exitCode: number;
  /** Set when the run was aborted by an environment failure (a full disk, claude not logged in). */
  error?: UserError;
}

/**
 * Runs a run's tasks to the end: admits ready tasks within the concurrency limit, drives each
 * attempt, and records every transition through the store (registry, ledger, event).
 */
export class Orchestrator {
  private readonly active = new Map<string, AttemptHandle | undefined>();
  private interrupted = false;
  private abortError: UserError | undefined;
  private ticking = false;
  private tickAgain = false;
  private finishing = false;
  private wakeTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private lastLimit: ConcurrencyLimit | undefined;
  private resolveDone!: (outcome: RunOutcome) => void;
  private readonly done = new Promise<RunOutcome>((resolve) => {
    this.resolveDone = resolve;
  });

  constructor(private readonly deps: OrchestratorDeps) {}

  private get store(): RunStore {
    return this.deps.store;
  }

  /** Runs until every task is finished (or the run is interrupted); `adopted` are already running. */
  async run(adopted: AttemptRequest[] = []): Promise<RunOutcome> {
    this.heartbeatTimer = setInterval(() => this.heartbeat(), this.deps.config.heartbeat.interval);
    for (const request of adopted) this.follow(request);
    this.kick();
    return this.done;
  }

  /** Ctrl-C: admit nothing more, stop every agent (SIGTERM, then SIGKILL after the grace period). */
  interrupt(): void {
    this.interrupted = true;
    for (const handle of this.active.values()) handle?.interrupt();
    this.kick();
  }

  /** A second Ctrl-C: SIGKILL every agent's process group now. */
  killNow(): void {
    this.interrupted = true;
    for (const handle of this.active.values()) handle?.killNow();
  }

  /** Stops the run because the environment failed it (the agents are stopped like on Ctrl-C). */
  abort(error: UserError): void {
    this.abortError ??= error;
    for (const handle of this.active.values()) handle?.interrupt();
    this.kick();
  }

  private heartbeat(): void {
    const now = new Date().toISOString();
    this.store.run.heartbeatAt = now;
    for (const id of this.active.keys()) this.store.task(id).heartbeatAt = now;
    this.store.save().catch((error: unknown) => this.fail(error));
  }

  private kick(): void {
    if (this.ticking) {
      this.tickAgain = true;
      return;
    }
    this.ticking = true;
    this.tick()
      .catch((error: unknown) => this.fail(error))
      .finally(() => {
        this.ticking = false;
        if (this.tickAgain) {
          this.tickAgain = false;
          this.kick();
        }
      });
  }

  private fail(error: unknown): void {
    if (error instanceof UserError) this.abort(error);
    else this.abort(new UserError(`internal error: ${errorMessage(error)}`, 1));
  }

  private schedulable(): SchedulableTask[] {
    return this.store.tasks.map((task) => ({
      id: task.id,
      status: task.status,
      dependsOn: task.dependsOn,
      priority: task.priority,
      order: task.order,
      retryAt: task.retryAt ? Date.parse(task.retryAt) : undefined,
    }));
  }

  private async tick(): Promise<void> {
    if (this.interrupted || this.abortError) {
      if (this.active.size === 0) await this.finish();
      return;
    }
    await this.skipBlocked();

    const limit = this.deps.limit(this.active.size);
    if (limit.value !== this.lastLimit?.value || limit.reason !== this.lastLimit.reason) {
      this.lastLimit = limit;
      this.store.run.limit = { value: limit.value, reason: limit.reason };
      await this.store.record({ type: 'limit', limit: limit.value, reason: limit.reason, running: this.active.size });
    }

    const now = Date.now();
    const ready = pickReady(this.schedulable(), new Set(this.active.keys()), limit.value - this.active.size, this.deps.conflicts, now);
    for (const id of ready) this.launch(id);
    if (this.active.size > 0) return;

    const pending = this.store.tasks.filter((task) => task.status === 'pending');
    if (pending.length === 0) {
      await this.finish();
      return;
    }
    const nextRetry = Math.min(...pending.map((task) => (task.retryAt ? Date.parse(task.retryAt) : Number.POSITIVE_INFINITY)));
    if (Number.isFinite(nextRetry)) {
      this.wakeAt(nextRetry);
      return;
    }
    throw new Error(`no task can start but ${pending.map((task) => task.id).join(', ')} are pending`);
  }

  /** Wakes the scheduler at a given time (a retry's backoff ending). */
  private wakeAt(time: number): void {
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = setTimeout(() => this.kick(), Math.max(0, time - Date.now()) + 5);
  }

  /** Pending tasks whose dependency failed or was skipped will never run: skip them, with the reason. */
  private async skipBlocked(): Promise<void> {
    for (;;) {
      const blocked = blockedTasks(this.schedulable());
      if (blocked.size === 0) return;
      for (const [id, cause] of blocked) {
        const task = this.store.task(id);
        const causeStatus = this.store.task(cause).status;
        task.status = 'skipped';
        task.skippedBecause = cause;
        task.reason = `dependency ${cause} ${causeStatus}`;
        task.finishedAt = new Date().toISOString();
        await this.store.record({ type: 'task-status', taskId: id, status: 'skipped', previous: 'pending', attempt: task.attempts, reason: task.reason });
      }
    }
  }

  private newAttempt(task: TaskRecord, kind: AttemptKind): AttemptRecord {
    const number = task.attempts + 1;
    return {
      number,
      kind,
      startedAt: new Date().toISOString(),
      log: `logs/${attemptFileName(task.id, number, 'jsonl')}`,
      stderr: `logs/${attemptFileName(task.id, number, 'stderr')}`,
      prompt: `prompts/${attemptFileName(task.id, number, 'md')}`,
      // Another agent is running now: this attempt runs in parallel, and so do they.
      parallel: this.active.size > 0,
    };
  }

  /** Starts a pending task's next attempt. The status changes synchronously, so no tick starts it twice. */
  private launch(id: string): void {
    const task = this.store.task(id);
    const next = task.next;
    const attempt = this.newAttempt(task, next?.kind ?? 'fresh');
    if (attempt.parallel) {
      for (const other of this.active.keys()) {
        const current = this.store.task(other).attemptLog.at(-1);
        if (current) current.parallel = true;
      }
    }
    task.status = 'running';
    task.attempts = attempt.number;
    task.attemptLog.push(attempt);
    task.startedAt ??= attempt.startedAt;
    task.heartbeatAt = attempt.startedAt;
    delete task.finishedAt;
    delete task.retryAt;
    delete task.next;
    delete task.agent;
    this.active.set(id, undefined);
    const request: AttemptRequest = { task, attempt, note: next?.note, resumeSessionId: next?.resumeSessionId };
    this.drive(request, 'pending').catch((error: unknown) => this.fail(error));
  }

  private follow(request: AttemptRequest): void {
    this.active.set(request.task.id, undefined);
    this.drive(request, undefined).catch((error: unknown) => this.fail(error));
  }

  private async drive(request: AttemptRequest, previous: 'pending' | undefined): Promise<void> {
    const { task, attempt } = request;
    try {
      if (previous) {
        await this.store.record({ type: 'task-status', taskId: task.id, status: 'running', previous, attempt: attempt.number, kind: attempt.kind, branch: task.branch });
      }
      let result: AttemptResult;
      if (this.interrupted || this.abortError) {
        result = { outcome: { status: 'interrupted', reason: 'stopped before the agent started' } };
      } else {
        const handle = this.deps.startAttempt(request);
        this.active.set(task.id, handle);
        result = await handle.done;
      }
      await this.complete(task, attempt, result);
    } finally {
      this.active.delete(task.id);
      this.kick();
    }
  }

  private async complete(task: TaskRecord, attempt: AttemptRecord, result: AttemptResult): Promise<void> {
    const now = new Date().toISOString();
    const { outcome } = result;
    attempt.finishedAt = now;
    attempt.outcome = outcome.status;
    if (outcome.reason) attempt.reason = outcome.reason;
    task.agentMs = (task.agentMs ?? 0) + (Date.parse(now) - Date.parse(attempt.startedAt));
    const decision = this.interrupted || this.abortError ? decideWhenStopping(outcome) : decideAfterAttempt(task, attempt, outcome);
    delete task.reason;
    delete task.failure;
    if (decision.status === 'pending') {
      attempt.outcome = 'requeued';
      task.status = 'pending';
      task.reason = decision.reason;
      task.next = decision.next;
      if (decision.delayMs > 0) task.retryAt = new Date(Date.parse(now) + decision.delayMs).toISOString();
      await this.store.record({ type: 'task-status', taskId: task.id, status: 'pending', previous: 'running', attempt: attempt.number, reason: decision.reason, retryInMs: decision.delayMs });
      return;
    }
    task.finishedAt = now;
    task.status = decision.status;
    if (decision.reason) task.reason = decision.reason;
    if (decision.status === 'failed') {
      task.failure = decision.failure;
      if (decision.failure === 'not-logged-in') {
        this.abort(new UserError(`${decision.reason}: run \`claude\` once and log in, or set ANTHROPIC_API_KEY; then \`orch resume ${this.store.run.id}\`.`));
      }
    }
    await this.store.record({
      type: 'task-status',
      taskId: task.id,
      status: task.status,
      previous: 'running',
      attempt: attempt.number,
      ...(task.reason ? { reason: task.reason } : {}),
      ...(task.failure ? { failure: task.failure } : {}),
      commits: task.commits.length,
    });
  }

  private async finish(): Promise<void> {
    if (this.finishing) return;
    this.finishing = true;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    const run = this.store.run;
    const now = new Date().toISOString();
    const counts = summarize(this.store.registry).counts;
    let status: RunStatus;
    let exitCode: number;
    if (this.abortError) {
      status = 'aborted';
      exitCode = this.abortError.exitCode;
      run.reason = this.abortError.message;
    } else if (this.interrupted) {
      status = 'interrupted';
      exitCode = 130;
    } else if (counts.failed > 0 || counts.skipped > 0) {
      status = 'failed';
      exitCode = 1;
    } else {
      status = 'succeeded';
      exitCode = 0;
    }
    run.status = status;
    run.exitCode = exitCode;
    run.finishedAt = now;
    run.heartbeatAt = now;
    const session = run.sessions.at(-1);
    if (session) session.finishedAt = now;
    try {
      await this.store.record({ type: 'run-finished', status, exitCode, summary: summarize(this.store.registry) });
    } catch (error) {
      // The registry cannot be written (a full disk): the last good one stays; say so and stop.
      this.abortError ??= error instanceof UserError ? error : new UserError(errorMessage(error), 1);
      this.resolveDone({ exitCode: this.abortError.exitCode, error: this.abortError });
      return;
    }
    this.resolveDone(this.abortError ? { exitCode, error: this.abortError } : { exitCode });
  }
}

/** While the run is stopping nothing is requeued: an unfinished task is interrupted. */
function decideWhenStopping(outcome: AttemptResult['outcome']): Decision {
  if (outcome.status === 'succeeded') return outcome.reason ? { status: 'succeeded', reason: outcome.reason } : { status: 'succeeded' };
  if (outcome.status === 'failed' && outcome.failure !== 'timeout') return { status: 'failed', failure: outcome.failure, reason: outcome.reason };
  return { status: 'interrupted', reason: outcome.status === 'interrupted' ? outcome.reason : 'stopped by orch (interrupt)' };
}

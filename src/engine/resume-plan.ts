import type { TaskRecord } from '../state/registry.js';
import type { ProcessIdentity } from '../process/process-info.js';
import type { AttemptKind } from '../domain/vocabulary.js';

export type ResumeAction =
  | { kind: 'keep' }
  /** The agent is still working: follow it to the end, never start it twice. */
  | { kind: 'adopt'; identity: ProcessIdentity }
  /** The agent is gone but its stream holds its final result: read it and finish the task. */
  | { kind: 'collect'; identity: ProcessIdentity }
  /** Its job is still in the workers' queue (waiting, running, or ended meanwhile): follow it, never queue it twice. */
  | { kind: 'reattach'; jobId: string }
  /** Run again in the existing worktree. */
  | { kind: 'rerun'; next: { kind: AttemptKind; note: string; resumeSessionId?: string } }
  /** Skipped because of a failure that is now being retried: pending again. */
  | { kind: 'revive' };

export interface ResumeFacts {
  /** The task's agent, alive and the same process (pid and start time), if there is one. */
  liveAgent: (task: TaskRecord) => ProcessIdentity | undefined;
  /** Whether the stream of the task's latest attempt ends with a result line. */
  hasResult: (task: TaskRecord) => boolean;
  retryFailed: boolean;
  /** Where the job of a task's latest attempt stands (`run --workers`); undefined for an attempt without one. */
  jobState?: (task: TaskRecord) => 'waiting' | 'active' | 'completed' | 'failed' | 'missing' | undefined;
}

export const INTERRUPTED_NOTE =
  '**Note:** this task was interrupted before it finished. The worktree already holds the work done so far (committed or not): look at `git status` and `git log` first, keep what is good, then finish the task.';

export const RETRY_NOTE = (reason: string | undefined): string =>
  `**Note:** an earlier attempt at this task failed${reason ? ` (${reason})` : ''}. Its work is still in this worktree: look at \`git status\` and \`git log\` first, then finish the task.`;

function rerunInterrupted(task: TaskRecord): ResumeAction {
  const next: { kind: AttemptKind; note: string; resumeSessionId?: string } = { kind: 'resume', note: INTERRUPTED_NOTE };
  if (task.sessionId) next.resumeSessionId = task.sessionId;
  return { kind: 'rerun', next };
}

/** What `orch resume` does with each task of a run whose orchestrator is gone. */
export function planResume(tasks: readonly TaskRecord[], facts: ResumeFacts): Map<string, ResumeAction> {
  const actions = new Map<string, ResumeAction>();
  for (const task of tasks) {
    switch (task.status) {
      case 'running': {
        const job = task.attemptLog.at(-1)?.job;
        if (job) {
          const state = facts.jobState?.(task);
          // A job that never reached the queue (the coordinator died in between) runs again.
          actions.set(task.id, state && state !== 'missing' ? { kind: 'reattach', jobId: job.id } : rerunInterrupted(task));
          break;
        }
        const live = facts.liveAgent(task);
        if (live) actions.set(task.id, { kind: 'adopt', identity: live });
        else if (task.agent && facts.hasResult(task)) actions.set(task.id, { kind: 'collect', identity: task.agent });
        else actions.set(task.id, rerunInterrupted(task));
        break;
      }
      case 'interrupted':
        actions.set(task.id, rerunInterrupted(task));
        break;
      case 'failed':
        actions.set(
          task.id,
          facts.retryFailed ? { kind: 'rerun', next: { kind: 'retry', note: RETRY_NOTE(task.reason) } } : { kind: 'keep' },
        );
        break;
      case 'skipped':
      case 'succeeded':
      case 'pending':
        actions.set(task.id, { kind: 'keep' });
        break;
    }
  }
  if (facts.retryFailed) {
    const retried = new Set([...actions].filter(([, action]) => action.kind === 'rerun').map(([id]) => id));
    for (const task of skippedBecauseOf(tasks, retried)) actions.set(task.id, { kind: 'revive' });
  }
  return actions;
}

/** Skipped tasks whose skip traces back (through other skipped tasks) to one of `causes`. */
export function skippedBecauseOf(tasks: readonly TaskRecord[], causes: ReadonlySet<string>): TaskRecord[] {
  const byId = new Map(tasks.map((task) => [task.id, task]));
  const rootCause = (task: TaskRecord): string | undefined => {
    const seen = new Set<string>();
    let current: TaskRecord | undefined = task;
    while (current?.status === 'skipped' && current.skippedBecause && !seen.has(current.id)) {
      seen.add(current.id);
      current = byId.get(current.skippedBecause);
    }
    return current?.id;
  };
  return tasks.filter((task) => task.status === 'skipped' && causes.has(rootCause(task) ?? ''));
}

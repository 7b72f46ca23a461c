/**
 * The words every part of orch shares: what state a task or run is in, why a task failed, how an
 * attempt started. The registry's schema (state/), the agent's outcome (agent/), the scheduler
 * and the engine all use these; none of them owns them.
 */

export const TASK_STATUSES = ['pending', 'running', 'succeeded', 'failed', 'skipped', 'interrupted'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** `paused`: stopped before the end on purpose (a usage limit beyond --max-wait, the budget): `orch resume` continues it. */
export const RUN_STATUSES = ['running', 'succeeded', 'failed', 'interrupted', 'aborted', 'paused'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/**
 * Why a task failed; `timeout`, `setup` and `rate-limited` are named by the issues users file.
 * `usage-limit`: a plan's usage window is used up (it resets at a known time); `budget`: the agent
 * reached its `--max-budget-usd`.
 */
export const FAILURE_KINDS = [
  'agent-error',
  'api-error',
  'rate-limited',
  'usage-limit',
  'budget',
  'not-logged-in',
  'timeout',
  'no-result',
  'exit-code',
  'setup',
  'spawn',
  'worktree',
  'commit',
  /** A worker could not fetch or push through the remote, or the job was lost on the way. */
  'remote',
  /** The agent changed refs other than its own branch (with `agent.refsGuard: "fail"`); they were put back. */
  'refs',
] as const;
export type FailureKind = (typeof FAILURE_KINDS)[number];

/** Failures that another attempt cannot fix: never retried, never re-run by the fallback pass. */
export const FINAL_FAILURES: ReadonlySet<FailureKind> = new Set(['not-logged-in', 'setup', 'worktree', 'refs']);

export const ATTEMPT_KINDS = ['fresh', 'retry', 'requeue', 'resume', 'adopted', 'fallback'] as const;
export type AttemptKind = (typeof ATTEMPT_KINDS)[number];

/** How one attempt ended; `requeued` means the task runs again. */
export const ATTEMPT_OUTCOMES = ['succeeded', 'failed', 'interrupted', 'requeued'] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

/** API statuses that mean "too many requests" for the whole account: rate limited (429), overloaded (529). */
export const PRESSURE_STATUSES: ReadonlySet<number> = new Set([429, 529]);

/** Errors with which the machine refuses to start a process: a sign to stop running things in parallel. */
const RESOURCE_SPAWN_ERRORS: ReadonlySet<string> = new Set(['EAGAIN', 'ENOMEM', 'EMFILE', 'ENFILE']);

/** Whether an agent could not be started because the machine is out of processes, memory or files (not the task's fault). */
export function machineRefused(spawnError: string | undefined): spawnError is string {
  return spawnError !== undefined && RESOURCE_SPAWN_ERRORS.has(spawnError);
}

/**
 * Where a succeeded task stands in the merge queue: not yet integrated, integrated (its merge
 * commit passed the check), refused by a conflict, undone because the check failed, or held
 * back because work its branch contains was not integrated.
 */
export const MERGE_STATUSES = ['pending', 'merged', 'conflict', 'check-failed', 'held'] as const;
export type MergeStatus = (typeof MERGE_STATUSES)[number];

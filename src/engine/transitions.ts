import type { TaskStatus } from '../domain/vocabulary.js';
import type { TaskStatusEvent } from '../events.js';
import type { AttemptRecord, TaskRecord } from '../state/registry.js';
import type { Decision, NextAttempt } from './decide.js';

/**
 * Every change of a task's status, in one place. Each function changes the task's record and
 * returns the event to record (registry write, ledger line, renderers): callers pass it to
 * `RunStore.record`, so no state change goes unrecorded.
 */

/** A pending task's next attempt starts (its record goes into the attempt log). */
export function markRunning(task: TaskRecord, attempt: AttemptRecord): TaskStatusEvent {
  const previous = task.status;
  task.status = 'running';
  task.attempts = attempt.number;
  task.attemptLog.push(attempt);
  task.startedAt ??= attempt.startedAt;
  task.heartbeatAt = attempt.startedAt;
  delete task.finishedAt;
  delete task.retryAt;
  delete task.next;
  delete task.waiting;
  delete task.agent;
  delete task.reason;
  delete task.failure;
  return {
    type: 'task-status',
    taskId: task.id,
    status: 'running',
    previous,
    attempt: attempt.number,
    kind: attempt.kind,
    branch: task.branch,
  };
}

/** A pending task that can never run: a dependency failed or was skipped. */
export function markSkipped(task: TaskRecord, cause: TaskRecord, now: string): TaskStatusEvent {
  const previous = task.status;
  task.status = 'skipped';
  task.skippedBecause = cause.id;
  task.reason = `dependency ${cause.id} ${cause.status}`;
  task.finishedAt = now;
  delete task.waiting;
  return { type: 'task-status', taskId: task.id, status: 'skipped', previous, attempt: task.attempts, reason: task.reason };
}

export interface PendingChange {
  reason: string;
  /** How the next attempt starts, when it is not a first attempt. */
  next?: NextAttempt | undefined;
  /** When it may start (a retry's backoff), ms since epoch. */
  retryAt?: number | undefined;
}

/**
 * The task will run (again): after a failure that is retried, in the fallback pass, on resume,
 * or because the dependency that skipped it runs again.
 */
export function markPending(task: TaskRecord, change: PendingChange): TaskStatusEvent {
  const previous = task.status;
  task.status = 'pending';
  task.reason = change.reason;
  if (change.next) task.next = change.next;
  else delete task.next;
  if (change.retryAt !== undefined) task.retryAt = new Date(change.retryAt).toISOString();
  else delete task.retryAt;
  delete task.finishedAt;
  delete task.failure;
  delete task.skippedBecause;
  const event: TaskStatusEvent = {
    type: 'task-status',
    taskId: task.id,
    status: 'pending',
    previous,
    attempt: task.attempts,
    reason: change.reason,
  };
  return event;
}

/**
 * An attempt ended: the task finishes with the decision, or (a pending decision) waits for its
 * next attempt, spending the retry or API-requeue budget the decision names.
 */
export function markAttemptEnded(task: TaskRecord, attempt: AttemptRecord, decision: Decision, now: number): TaskStatusEvent {
  if (decision.status === 'pending') {
    attempt.outcome = 'requeued';
    if (decision.spends === 'retry') task.retriesUsed += 1;
    if (decision.spends === 'api-requeue') task.apiRequeues += 1;
    const event = markPending(task, {
      reason: decision.reason,
      next: decision.next,
      retryAt: decision.delayMs > 0 ? now + decision.delayMs : undefined,
    });
    event.attempt = attempt.number;
    event.retryInMs = decision.delayMs;
    return event;
  }
  return markFinished(task, decision.status, decision, attempt, new Date(now).toISOString());
}

/** The task is over: succeeded, failed or interrupted. */
export function markFinished(
  task: TaskRecord,
  status: Exclude<TaskStatus, 'pending' | 'running' | 'skipped'>,
  detail: { reason?: string | undefined; failure?: TaskRecord['failure'] },
  attempt: AttemptRecord | undefined,
  now: string,
): TaskStatusEvent {
  const previous = task.status;
  task.status = status;
  task.finishedAt = now;
  delete task.waiting;
  delete task.reason;
  delete task.failure;
  if (detail.reason) task.reason = detail.reason;
  if (status === 'failed' && detail.failure) task.failure = detail.failure;
  if (status === 'succeeded' && attempt?.kind === 'fallback') task.succeededInFallback = true;
  return {
    type: 'task-status',
    taskId: task.id,
    status,
    previous,
    attempt: attempt?.number ?? task.attempts,
    ...(task.reason ? { reason: task.reason } : {}),
    ...(task.failure ? { failure: task.failure } : {}),
    commits: task.commits.length,
  };
}

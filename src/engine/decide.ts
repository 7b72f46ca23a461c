import type { Outcome } from '../agent/outcome.js';
import type { AttemptRecord, TaskRecord } from '../state/registry.js';
import { FINAL_FAILURES, machineRefused, type AttemptKind, type FailureKind } from '../domain/vocabulary.js';
import { INTERRUPTED_NOTE, RETRY_NOTE } from './resume-plan.js';

export interface NextAttempt {
  kind: AttemptKind;
  note?: string;
  resumeSessionId?: string;
}

/** What becomes of a task once an attempt has ended. */
export type Decision =
  | { status: 'succeeded'; reason?: string }
  | { status: 'failed'; failure: FailureKind; reason: string }
  | { status: 'interrupted'; reason: string }
  /**
   * Run again after `delayMs`. `spends` names the budget the next attempt uses: a retry (a
   * failure), an API requeue (rate limiting is not the task's fault), or none.
   */
  | { status: 'pending'; reason: string; next: NextAttempt; delayMs: number; spends: 'retry' | 'api-requeue' | 'none' };

export interface RetryPolicy {
  retries: number;
  backoffMs: number;
  apiRequeues: number;
}

/** What the run as a whole knows when an attempt ends. */
export interface RunFacts {
  /** The run's recorded cost has reached its budget (`--max-cost`). */
  budgetReached: boolean;
  /** Now (ms since epoch): a usage limit's reset in the past is no reason to wait. */
  now: number;
}

/**
 * The task's next state after an attempt:
 * - a plan's usage limit with a reset to come is requeued without counting as a failure (the
 *   run-wide pause waits for the reset); an agent stopped by its share of a spent run budget waits
 *   for more budget (`orch resume --max-cost`);
 * - a failure caused only by rate limiting or overload (API 429/529) is requeued without counting
 *   as a failure, up to `apiRequeues` times (the run-wide API pause decides when it starts again);
 * - any other failure is retried `retries` times in the same worktree, after a backoff that doubles;
 * - a `--resume` of a session the CLI no longer has starts afresh without counting;
 * - a fallback attempt is the last one.
 */
export function decideAfterAttempt(
  task: TaskRecord,
  attempt: AttemptRecord,
  outcome: Outcome,
  policy: RetryPolicy,
  facts: RunFacts = { budgetReached: false, now: Date.now() },
): Decision {
  if (outcome.status === 'succeeded') return outcome.reason ? { status: 'succeeded', reason: outcome.reason } : { status: 'succeeded' };
  if (outcome.status === 'interrupted') return { status: 'interrupted', reason: outcome.reason };
  const failed: Decision = { status: 'failed', failure: outcome.failure, reason: outcome.reason };
  // A plan's usage window is the account's, and it has a known end: wait for it, whatever the attempt.
  if (outcome.failure === 'usage-limit' && outcome.resetsAt !== undefined && outcome.resetsAt > facts.now) {
    return {
      status: 'pending',
      reason: `${outcome.reason}; requeued until the limit resets (not a task failure)`,
      next: { kind: 'requeue', note: RETRY_NOTE(outcome.reason) },
      delayMs: 0,
      spends: 'none',
    };
  }
  // The agent ran out of the part of the run's budget it was given: the task waits for more.
  if (outcome.failure === 'budget' && facts.budgetReached) {
    return { status: 'pending', reason: 'budget', next: { kind: 'requeue', note: RETRY_NOTE(outcome.reason) }, delayMs: 0, spends: 'none' };
  }
  if (FINAL_FAILURES.has(outcome.failure) || attempt.kind === 'fallback') return failed;
  if (attempt.kind === 'resume' && /no conversation found/i.test(outcome.reason)) {
    return {
      status: 'pending',
      reason: 'the earlier Claude session is gone; starting afresh in the same worktree',
      next: { kind: 'resume', note: INTERRUPTED_NOTE },
      delayMs: 0,
      spends: 'none',
    };
  }
  if ((outcome.failure === 'rate-limited' || outcome.failure === 'usage-limit') && task.apiRequeues < policy.apiRequeues) {
    return {
      status: 'pending',
      reason: `${outcome.reason}; requeued (rate limiting is not a task failure)`,
      next: { kind: 'requeue', note: RETRY_NOTE(outcome.reason) },
      delayMs: 0,
      spends: 'api-requeue',
    };
  }
  if (task.retriesUsed < policy.retries) {
    const delayMs = policy.backoffMs * 2 ** task.retriesUsed;
    return {
      status: 'pending',
      reason: `${outcome.reason}; retry ${task.retriesUsed + 1} of ${policy.retries}`,
      next: { kind: 'retry', note: RETRY_NOTE(outcome.reason) },
      delayMs,
      spends: 'retry',
    };
  }
  return failed;
}

/**
 * The decision for an attempt as the orchestrator sees it: while the run is stopping nothing is
 * requeued; an agent the machine refused to start is requeued (not the task's fault); anything
 * else follows the retry policy.
 */
export function decideAttempt(
  task: TaskRecord,
  attempt: AttemptRecord,
  outcome: Outcome,
  spawnError: string | undefined,
  policy: RetryPolicy,
  stopping: boolean,
  facts?: RunFacts,
): Decision {
  if (stopping) {
    if (outcome.status === 'succeeded') return outcome.reason ? { status: 'succeeded', reason: outcome.reason } : { status: 'succeeded' };
    if (outcome.status === 'failed' && outcome.failure !== 'timeout' && outcome.failure !== 'usage-limit')
      return { status: 'failed', failure: outcome.failure, reason: outcome.reason };
    return { status: 'interrupted', reason: outcome.status === 'interrupted' ? outcome.reason : 'stopped by orch (interrupt)' };
  }
  if (outcome.status === 'failed' && outcome.failure === 'spawn' && machineRefused(spawnError)) {
    return { status: 'pending', reason: `${outcome.reason}; requeued`, next: { kind: 'requeue' }, delayMs: 0, spends: 'none' };
  }
  return decideAfterAttempt(task, attempt, outcome, policy, facts);
}

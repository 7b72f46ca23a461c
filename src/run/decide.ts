import type { Outcome } from '../agent/outcome.js';
import type { AttemptKind, AttemptRecord, FailureKind, TaskRecord } from '../state/registry.js';
import { INTERRUPTED_NOTE } from './resume-plan.js';

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
  /** Run again after `delayMs`; `spends` says which budget the new attempt uses. */
  | { status: 'pending'; reason: string; next: NextAttempt; delayMs: number; spends: 'none' };

/**
 * The task's next state after an attempt. A `--resume` of a session the CLI no longer has
 * ("No conversation found") starts fresh instead, without counting as a failure.
 */
export function decideAfterAttempt(_task: TaskRecord, attempt: AttemptRecord, outcome: Outcome): Decision {
  if (outcome.status === 'succeeded') return outcome.reason ? { status: 'succeeded', reason: outcome.reason } : { status: 'succeeded' };
  if (outcome.status === 'interrupted') return { status: 'interrupted', reason: outcome.reason };
  if (attempt.kind === 'resume' && /no conversation found/i.test(outcome.reason)) {
    return { status: 'pending', reason: 'the earlier Claude session is gone; starting afresh in the same worktree', next: { kind: 'resume', note: INTERRUPTED_NOTE }, delayMs: 0, spends: 'none' };
  }
  return { status: 'failed', failure: outcome.failure, reason: outcome.reason };
}

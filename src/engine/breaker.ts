import type { Outcome } from '../agent/outcome.js';
import { machineRefused, type FailureKind } from '../domain/vocabulary.js';

const ACCOUNT_FAILURES: ReadonlySet<FailureKind> = new Set(['rate-limited', 'usage-limit', 'budget']);

export interface BreakerPolicy {
  /** `fallback.enabled`: with it off (`--no-fallback`), repeated failures never switch the run to one task at a time. */
  enabled: boolean;
  /** Failures in a row, while running in parallel, that switch the run to one task at a time. */
  threshold: number;
}

export interface BreakerInput {
  outcome: Outcome;
  /** Another agent ran at the same time as this attempt. */
  parallel: boolean;
  /** The code the machine refused to start the agent with (EAGAIN, ENOMEM…), if it did. */
  spawnError?: string | undefined;
  /** The run is stopping: failures then say nothing about running in parallel. */
  stopping: boolean;
}

export interface BreakerVerdict {
  /** Failures in a row while running in parallel, this attempt included. */
  consecutiveFailures: number;
  /** The attempt failed while others ran: the fallback pass may give the task one more, alone. */
  failedInParallel: boolean;
  /** Why the rest of the run must go one task at a time, when it must. */
  switchToSequential?: string;
}

/**
 * The circuit breaker: parallel failures in a row (not rate limiting, usage limits or budgets,
 * which are the account's, not the tasks') switch the run to one task at a time, and a machine that refuses to start
 * processes does so at once (that protects the machine, so it holds even with `--no-fallback`).
 * A success resets the count.
 */
export function breakerAfterAttempt(consecutiveFailures: number, input: BreakerInput, policy: BreakerPolicy): BreakerVerdict {
  const { outcome } = input;
  if (outcome.status === 'succeeded') return { consecutiveFailures: 0, failedInParallel: false };
  if (outcome.status !== 'failed' || input.stopping) return { consecutiveFailures, failedInParallel: false };
  if (machineRefused(input.spawnError)) {
    return {
      consecutiveFailures,
      failedInParallel: false,
      switchToSequential: `the machine refused to start an agent (${input.spawnError})`,
    };
  }
  // Rate limiting, a plan's usage limit and a spent budget are the account's, not the task's.
  if (!input.parallel || ACCOUNT_FAILURES.has(outcome.failure)) return { consecutiveFailures, failedInParallel: false };
  const count = consecutiveFailures + 1;
  const verdict: BreakerVerdict = { consecutiveFailures: count, failedInParallel: true };
  if (policy.enabled && count >= policy.threshold) verdict.switchToSequential = `${count} tasks failed in a row while running in parallel`;
  return verdict;
}

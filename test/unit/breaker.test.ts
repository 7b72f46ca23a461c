import { describe, expect, it } from 'vitest';
import type { Outcome } from '../../src/agent/outcome.js';
import { breakerAfterAttempt, type BreakerInput } from '../../src/engine/breaker.js';

const failed: Outcome = { status: 'failed', failure: 'agent-error', reason: 'boom' };
const rateLimited: Outcome = { status: 'failed', failure: 'rate-limited', reason: 'API 429', apiStatus: 429 };
const on = { enabled: true, threshold: 3 };
const off = { enabled: false, threshold: 3 };
const input = (overrides: Partial<BreakerInput>): BreakerInput => ({ outcome: failed, parallel: true, stopping: false, ...overrides });

describe('breakerAfterAttempt', () => {
  it.each([
    ['a success resets the count', 2, input({ outcome: { status: 'succeeded' } }), on, { consecutiveFailures: 0, failedInParallel: false }],
    ['a parallel failure counts', 0, input({}), on, { consecutiveFailures: 1, failedInParallel: true }],
    [
      'the threshold switches the run to sequential',
      2,
      input({}),
      on,
      { consecutiveFailures: 3, failedInParallel: true, switchToSequential: '3 tasks failed in a row while running in parallel' },
    ],
    ['--no-fallback never switches on failures', 5, input({}), off, { consecutiveFailures: 6, failedInParallel: true }],
    ['a failure alone does not count', 2, input({ parallel: false }), on, { consecutiveFailures: 2, failedInParallel: false }],
    [
      'rate limiting is the account’s, not the task’s',
      2,
      input({ outcome: rateLimited }),
      on,
      { consecutiveFailures: 2, failedInParallel: false },
    ],
    ['nothing counts while the run stops', 2, input({ stopping: true }), on, { consecutiveFailures: 2, failedInParallel: false }],
    [
      'interruptions do not count',
      2,
      input({ outcome: { status: 'interrupted', reason: 'x' } }),
      on,
      { consecutiveFailures: 2, failedInParallel: false },
    ],
    [
      'a machine that refuses to start processes goes sequential at once, even with --no-fallback',
      0,
      input({ outcome: { status: 'failed', failure: 'spawn', reason: 'EAGAIN' }, spawnError: 'EAGAIN' }),
      off,
      { consecutiveFailures: 0, failedInParallel: false, switchToSequential: 'the machine refused to start an agent (EAGAIN)' },
    ],
    [
      'a missing executable is the task’s failure, not the machine’s',
      0,
      input({ outcome: { status: 'failed', failure: 'spawn', reason: 'ENOENT' }, spawnError: 'ENOENT' }),
      on,
      { consecutiveFailures: 1, failedInParallel: true },
    ],
  ])('%s', (_name, count, attempt, policy, verdict) => {
    expect(breakerAfterAttempt(count, attempt, policy)).toEqual(verdict);
  });
});

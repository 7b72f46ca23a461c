import { describe, expect, it } from 'vitest';
import type { Outcome } from '../../src/agent/outcome.js';
import { decideAfterAttempt, decideAttempt, type RetryPolicy } from '../../src/engine/decide.js';
import type { AttemptKind } from '../../src/domain/vocabulary.js';
import { attemptRecord, taskRecord } from '../support/records.js';

const task = taskRecord;
const attempt = (kind: AttemptKind = 'fresh') => attemptRecord(kind);
const policy: RetryPolicy = { retries: 2, backoffMs: 1000, apiRequeues: 3 };
const failed = (failure: Extract<Outcome, { status: 'failed' }>['failure'], reason = 'boom'): Outcome => ({
  status: 'failed',
  failure,
  reason,
});

describe('decideAfterAttempt', () => {
  it('retries failures with a doubling backoff, then gives up', () => {
    expect(decideAfterAttempt(task(), attempt(), failed('agent-error'), policy)).toMatchObject({
      status: 'pending',
      spends: 'retry',
      delayMs: 1000,
      next: { kind: 'retry' },
    });
    expect(decideAfterAttempt(task({ retriesUsed: 1 }), attempt('retry'), failed('timeout'), policy)).toMatchObject({
      status: 'pending',
      delayMs: 2000,
    });
    expect(decideAfterAttempt(task({ retriesUsed: 2 }), attempt('retry'), failed('agent-error'), policy)).toEqual({
      status: 'failed',
      failure: 'agent-error',
      reason: 'boom',
    });
  });

  it('requeues rate limiting without spending a retry, up to a limit', () => {
    expect(decideAfterAttempt(task({ retriesUsed: 2 }), attempt(), failed('rate-limited'), policy)).toMatchObject({
      status: 'pending',
      spends: 'api-requeue',
      delayMs: 0,
      next: { kind: 'requeue' },
    });
    expect(decideAfterAttempt(task({ apiRequeues: 3, retriesUsed: 2 }), attempt(), failed('rate-limited'), policy)).toMatchObject({
      status: 'failed',
      failure: 'rate-limited',
    });
    expect(decideAfterAttempt(task({ apiRequeues: 3 }), attempt(), failed('rate-limited'), policy)).toMatchObject({
      status: 'pending',
      spends: 'retry',
    });
  });

  it('does not retry what another attempt cannot fix, nor a fallback attempt', () => {
    for (const failure of ['setup', 'not-logged-in', 'worktree'] as const)
      expect(decideAfterAttempt(task(), attempt(), failed(failure), policy).status).toBe('failed');
    expect(decideAfterAttempt(task(), attempt('fallback'), failed('agent-error'), policy).status).toBe('failed');
  });

  it('starts afresh when a resumed session is gone, without spending anything', () => {
    expect(
      decideAfterAttempt(
        task({ retriesUsed: 2 }),
        attempt('resume'),
        failed('agent-error', 'error_during_execution: No conversation found with session ID: x'),
        policy,
      ),
    ).toMatchObject({ status: 'pending', spends: 'none', next: { kind: 'resume' } });
  });

  it('passes successes and interruptions through', () => {
    expect(decideAfterAttempt(task(), attempt(), { status: 'succeeded' }, policy)).toEqual({ status: 'succeeded' });
    expect(decideAfterAttempt(task(), attempt(), { status: 'interrupted', reason: 'x' }, policy)).toEqual({
      status: 'interrupted',
      reason: 'x',
    });
  });
});

describe('decideAttempt', () => {
  it('never requeues while the run is stopping', () => {
    expect(decideAttempt(task(), attempt(), failed('timeout'), undefined, policy, true)).toEqual({
      status: 'interrupted',
      reason: 'stopped by orch (interrupt)',
    });
    expect(decideAttempt(task(), attempt(), failed('agent-error'), undefined, policy, true)).toMatchObject({ status: 'failed' });
  });

  it('requeues an agent the machine refused to start, without spending a retry', () => {
    expect(
      decideAttempt(task({ retriesUsed: 2 }), attempt(), failed('spawn', 'cannot start claude: EAGAIN'), 'EAGAIN', policy, false),
    ).toMatchObject({ status: 'pending', spends: 'none', next: { kind: 'requeue' } });
    expect(
      decideAttempt(task({ retriesUsed: 2 }), attempt(), failed('spawn', 'cannot start claude: ENOENT'), 'ENOENT', policy, false),
    ).toMatchObject({ status: 'failed' });
  });
});

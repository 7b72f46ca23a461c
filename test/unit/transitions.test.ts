import { describe, expect, it } from 'vitest';
import { markAttemptEnded, markFinished, markPending, markRunning, markSkipped } from '../../src/engine/transitions.js';
import { attemptRecord, taskRecord } from '../support/records.js';

const NOW = Date.parse('2026-01-01T00:00:00.000Z');

describe('task transitions', () => {
  it('markRunning puts the attempt on record and clears what belonged to the last one', () => {
    const task = taskRecord({
      status: 'pending',
      attempts: 1,
      retryAt: 'x',
      next: { kind: 'retry' },
      reason: 'boom; retry 1 of 1',
      agent: { pid: 1, startTime: 's' },
    });
    const attempt = attemptRecord('retry', { number: 2 });
    expect(markRunning(task, attempt)).toEqual({
      type: 'task-status',
      taskId: 't',
      status: 'running',
      previous: 'pending',
      attempt: 2,
      kind: 'retry',
      branch: 'b',
    });
    expect(task).toMatchObject({ status: 'running', attempts: 2, startedAt: attempt.startedAt, heartbeatAt: attempt.startedAt });
    expect(task.attemptLog).toEqual([attempt]);
    for (const key of ['retryAt', 'next', 'reason', 'agent', 'finishedAt'] as const) expect(task[key]).toBeUndefined();
  });

  it('markSkipped names the dependency to blame', () => {
    const task = taskRecord({ id: 'b', status: 'pending', attempts: 0 });
    const event = markSkipped(task, taskRecord({ id: 'a', status: 'failed' }), '2026-01-01T00:00:00.000Z');
    expect(task).toMatchObject({
      status: 'skipped',
      skippedBecause: 'a',
      reason: 'dependency a failed',
      finishedAt: '2026-01-01T00:00:00.000Z',
    });
    expect(event).toMatchObject({ status: 'skipped', previous: 'pending', reason: 'dependency a failed' });
  });

  it('markPending brings back a failed or skipped task with its next attempt', () => {
    const failed = taskRecord({ status: 'failed', failure: 'timeout', finishedAt: 'x', reason: 'timeout' });
    expect(markPending(failed, { reason: 'sequential fallback', next: { kind: 'fallback', note: 'n' } })).toMatchObject({
      status: 'pending',
      previous: 'failed',
      reason: 'sequential fallback',
    });
    expect(failed).toMatchObject({ status: 'pending', next: { kind: 'fallback', note: 'n' }, reason: 'sequential fallback' });
    expect(failed.failure).toBeUndefined();
    expect(failed.finishedAt).toBeUndefined();
    const skipped = taskRecord({ status: 'skipped', skippedBecause: 'a', next: { kind: 'retry' } });
    markPending(skipped, { reason: 'its dependency runs again' });
    expect(skipped.skippedBecause).toBeUndefined();
    expect(skipped.next).toBeUndefined();
  });

  it('markAttemptEnded records a retry with its backoff, spending the budget the decision names', () => {
    const task = taskRecord({ reason: 'old', failure: 'timeout' });
    const attempt = attemptRecord();
    const event = markAttemptEnded(
      task,
      attempt,
      { status: 'pending', reason: 'boom; retry 1 of 2', next: { kind: 'retry' }, delayMs: 1000, spends: 'retry' },
      NOW,
    );
    expect(task).toMatchObject({
      status: 'pending',
      retriesUsed: 1,
      apiRequeues: 0,
      retryAt: '2026-01-01T00:00:01.000Z',
      reason: 'boom; retry 1 of 2',
      next: { kind: 'retry' },
    });
    expect(task.failure).toBeUndefined();
    expect(attempt.outcome).toBe('requeued');
    expect(event).toMatchObject({ type: 'task-status', status: 'pending', previous: 'running', retryInMs: 1000, attempt: 1 });
    const requeued = taskRecord();
    markAttemptEnded(
      requeued,
      attemptRecord(),
      { status: 'pending', reason: 'API 429; requeued', next: { kind: 'requeue' }, delayMs: 0, spends: 'api-requeue' },
      NOW,
    );
    expect(requeued).toMatchObject({ apiRequeues: 1, retriesUsed: 0 });
    expect(requeued.retryAt).toBeUndefined();
  });

  it('markAttemptEnded finishes the task; a fallback success is marked as such', () => {
    const rescued = taskRecord();
    markAttemptEnded(rescued, attemptRecord('fallback'), { status: 'succeeded' }, NOW);
    expect(rescued).toMatchObject({ status: 'succeeded', succeededInFallback: true, finishedAt: '2026-01-01T00:00:00.000Z' });
    const failed = taskRecord({ commits: [{ sha: 'a', subject: 's' }] });
    expect(markAttemptEnded(failed, attemptRecord(), { status: 'failed', failure: 'agent-error', reason: 'boom' }, NOW)).toMatchObject({
      status: 'failed',
      failure: 'agent-error',
      reason: 'boom',
      commits: 1,
    });
  });

  it('markFinished ends a task outside an attempt (an orphan stopped by clean)', () => {
    const task = taskRecord({ status: 'running' });
    expect(
      markFinished(task, 'interrupted', { reason: 'agent stopped by orch clean --kill-orphans' }, undefined, '2026-01-01T00:00:00.000Z'),
    ).toMatchObject({
      status: 'interrupted',
      previous: 'running',
      attempt: 1,
    });
    expect(task).toMatchObject({ status: 'interrupted', reason: 'agent stopped by orch clean --kill-orphans' });
  });
});

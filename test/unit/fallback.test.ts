import { describe, expect, it } from 'vitest';
import { fallbackCandidates } from '../../src/engine/fallback.js';
import { runEnding } from '../../src/engine/summary.js';
import type { TaskRecord } from '../../src/state/registry.js';
import { taskRecord } from '../support/records.js';

const task = (id: string, overrides: Partial<TaskRecord>): TaskRecord => taskRecord({ id, title: id, status: 'pending', ...overrides });

describe('fallbackCandidates', () => {
  it('retries parallel failures another attempt could fix, and revives what they skipped', () => {
    const tasks = [
      task('parallel', { status: 'failed', failure: 'agent-error', failedInParallel: true }),
      task('alone', { status: 'failed', failure: 'agent-error' }),
      task('setup', { status: 'failed', failure: 'setup', failedInParallel: true }),
      task('child', { status: 'skipped', skippedBecause: 'parallel' }),
      task('grandchild', { status: 'skipped', skippedBecause: 'child' }),
      task('orphan', { status: 'skipped', skippedBecause: 'alone' }),
    ];
    const { retry, revive } = fallbackCandidates(tasks);
    expect(retry.map((t) => t.id)).toEqual(['parallel']);
    expect(revive.map((t) => t.id)).toEqual(['child', 'grandchild']);
  });
});

describe('runEnding', () => {
  const counts = (failed: number, skipped: number) => ({ pending: 0, running: 0, succeeded: 1, failed, skipped, interrupted: 0 });
  it('orders abort, interrupt, failure, success', () => {
    expect(runEnding(counts(0, 0), false, undefined)).toEqual({ status: 'succeeded', exitCode: 0 });
    expect(runEnding(counts(0, 1), false, undefined)).toEqual({ status: 'failed', exitCode: 1 });
    expect(runEnding(counts(1, 0), true, undefined)).toEqual({ status: 'interrupted', exitCode: 130 });
    expect(runEnding(counts(1, 0), true, 2)).toEqual({ status: 'aborted', exitCode: 2 });
  });
});

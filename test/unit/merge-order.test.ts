import { describe, expect, it } from 'vitest';
import { firstBreaking } from '../../src/merge/bisect.js';
import { mergeOrder, readiness, type MergeCandidate } from '../../src/merge/order.js';

const task = (id: string, overrides: Partial<MergeCandidate> = {}): MergeCandidate => ({
  id,
  status: 'succeeded',
  order: 0,
  dependsOn: [],
  builtOn: [],
  ...overrides,
});

describe('mergeOrder', () => {
  it('puts what a branch contains before it, then keeps the run’s order', () => {
    const tasks = [
      task('docs', { order: 0, dependsOn: ['api'] }),
      task('api', { order: 1 }),
      task('lint', { order: 2, builtOn: ['style'] }),
      task('style', { order: 3 }),
      task('readme', { order: 4 }),
    ];
    expect(mergeOrder(tasks)).toEqual(['api', 'docs', 'style', 'lint', 'readme']);
  });
});

describe('readiness', () => {
  const byId = (tasks: MergeCandidate[]) => new Map(tasks.map((candidate) => [candidate.id, candidate]));
  it.each([
    ['no prerequisite', task('b'), [], { kind: 'ready' }],
    ['a dependency integrated', task('b', { dependsOn: ['a'] }), [task('a', { mergeStatus: 'merged' })], { kind: 'ready' }],
    [
      'a dependency merged, its check to come',
      task('b', { dependsOn: ['a'] }),
      [task('a', { mergeStatus: 'pending', integrated: true })],
      { kind: 'ready' },
    ],
    [
      'a dependency not integrated yet',
      task('b', { dependsOn: ['a'] }),
      [task('a', { mergeStatus: 'pending' })],
      { kind: 'wait', for: 'a' },
    ],
    ['a dependency still running', task('b', { dependsOn: ['a'] }), [task('a', { status: 'running' })], { kind: 'wait', for: 'a' }],
    [
      'a dependency that conflicted',
      task('b', { dependsOn: ['a'] }),
      [task('a', { mergeStatus: 'conflict' })],
      { kind: 'held', reason: 'its dependency a was not integrated (conflict)' },
    ],
    [
      'a task it was built on that broke the check',
      task('b', { builtOn: ['a'] }),
      [task('a', { mergeStatus: 'check-failed' })],
      { kind: 'held', reason: 'the task it was built on a was not integrated (check-failed)' },
    ],
    [
      'a dependency that failed',
      task('b', { dependsOn: ['a'] }),
      [task('a', { status: 'failed' })],
      { kind: 'held', reason: 'its dependency a failed' },
    ],
    ['a task that did not succeed', task('b', { status: 'failed' }), [], { kind: 'skip' }],
    ['a task already decided', task('b', { mergeStatus: 'merged' }), [], { kind: 'skip' }],
  ])('%s', (_name, candidate, others, expected) => {
    expect(readiness(candidate, byId([candidate, ...others]))).toEqual(expected);
  });
});

describe('firstBreaking', () => {
  it.each([
    [1, 0],
    [4, 0],
    [4, 2],
    [4, 3],
    [7, 5],
  ])('in a batch of %d, finds merge %d', async (size, culprit) => {
    const result = await firstBreaking(size, async (prefix) => prefix <= culprit);
    expect(result.culprit).toBe(culprit);
    expect(result.checked.length).toBeLessThanOrEqual(Math.ceil(Math.log2(size)));
  });
});

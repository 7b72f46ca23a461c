import { describe, expect, it } from 'vitest';
import { ConflictIndex } from '../../src/graph/conflicts.js';
import { blockedTasks, freesSlotAtExit, pickReady, type SchedulableTask } from '../../src/scheduler/policy.js';
import { schedulableTask } from '../support/schedulable.js';

const task = schedulableTask;
const none = new ConflictIndex([]);

describe('pickReady', () => {
  it('fills free capacity by priority, then order', () => {
    const tasks = [task('a', { order: 0 }), task('b', { order: 1, priority: 5 }), task('c', { order: 2 })];
    expect(pickReady(tasks, new Set(), 2, none, 0)).toEqual(['b', 'a']);
    expect(pickReady(tasks, new Set(), 0, none, 0)).toEqual([]);
  });

  it('waits for every dependency to succeed', () => {
    const tasks = [
      task('a', { status: 'running' }),
      task('b', { dependsOn: ['a'] }),
      task('c', { dependsOn: ['d'] }),
      task('d', { status: 'succeeded' }),
    ];
    expect(pickReady(tasks, new Set(['a']), 5, none, 0)).toEqual(['c']);
  });

  it('never starts a task that conflicts with a running one, or with one picked alongside', () => {
    const conflicts = new ConflictIndex([
      { a: 'a', b: 'b' },
      { a: 'c', b: 'd' },
    ]);
    const tasks = [
      task('a', { status: 'running' }),
      task('b', { order: 1 }),
      task('c', { order: 2 }),
      task('d', { order: 3 }),
      task('e', { order: 4 }),
    ];
    expect(pickReady(tasks, new Set(['a']), 5, conflicts, 0)).toEqual(['c', 'e']);
  });

  it('respects a retry backoff', () => {
    const tasks = [task('a', { retryAt: 1000 }), task('b', { order: 1 })];
    expect(pickReady(tasks, new Set(), 5, none, 999)).toEqual(['b']);
    expect(pickReady(tasks, new Set(), 5, none, 1000)).toEqual(['a', 'b']);
  });
});

describe('blockedTasks', () => {
  it('blames the failed or skipped dependency', () => {
    const tasks = [
      task('a', { status: 'failed' }),
      task('b', { dependsOn: ['a'] }),
      task('c', { dependsOn: ['b'] }),
      task('d', { dependsOn: ['e'], status: 'pending' }),
      task('e', { status: 'skipped' }),
    ];
    expect([...blockedTasks(tasks)]).toEqual([
      ['b', 'a'],
      ['d', 'e'],
    ]);
  });
});

describe('freesSlotAtExit', () => {
  const conflicts = new ConflictIndex([{ a: 'a', b: 'c' }]);
  const cases: Array<[string, Parameters<typeof freesSlotAtExit>[0], SchedulableTask[], boolean]> = [
    [
      'a success with nothing waiting for it',
      { id: 'b', outcome: 'succeeded', sequential: false },
      [task('b', { status: 'running' }), task('d')],
      true,
    ],
    ['a failure keeps its slot', { id: 'b', outcome: 'failed', sequential: false }, [task('b', { status: 'running' }), task('d')], false],
    ['an interruption keeps its slot', { id: 'b', outcome: 'interrupted', sequential: false }, [task('b', { status: 'running' })], false],
    [
      'sequential mode: one task at a time, start to end',
      { id: 'b', outcome: 'succeeded', sequential: true },
      [task('b', { status: 'running' }), task('d')],
      false,
    ],
    [
      'a pending dependent waits for it',
      { id: 'b', outcome: 'succeeded', sequential: false },
      [task('b', { status: 'running' }), task('d', { dependsOn: ['b'] })],
      false,
    ],
    [
      'a dependent that already ran does not',
      { id: 'b', outcome: 'succeeded', sequential: false },
      [task('b', { status: 'running' }), task('d', { dependsOn: ['b'], status: 'succeeded' })],
      true,
    ],
    [
      'a pending task editing the same files waits for it',
      { id: 'a', outcome: 'succeeded', sequential: false },
      [task('a', { status: 'running' }), task('c')],
      false,
    ],
    [
      'a conflicting task already done does not',
      { id: 'a', outcome: 'succeeded', sequential: false },
      [task('a', { status: 'running' }), task('c', { status: 'failed' })],
      true,
    ],
  ];
  it.each(cases)('%s', (_name, exited, tasks, expected) => {
    expect(freesSlotAtExit(exited, tasks, conflicts)).toBe(expected);
  });
});

import { describe, expect, it } from 'vitest';
import { aheadOfTime } from '../../src/scheduler/ahead.js';
import type { SchedulableTask } from '../../src/scheduler/policy.js';
import { schedulableTask } from '../support/schedulable.js';

const task = schedulableTask;

describe('aheadOfTime', () => {
  const cases: Array<{ name: string; tasks: SchedulableTask[]; running?: string[]; limit: number; expected: string[] }> = [
    {
      name: 'pending tasks in admission order: priority, then remaining path, then order given',
      tasks: [
        task('a', { order: 0 }),
        task('b', { order: 1, remaining: 5 }),
        task('c', { order: 2, priority: 1 }),
        task('d', { order: 3, remaining: 5 }),
      ],
      limit: 4,
      expected: ['c', 'b', 'd', 'a'],
    },
    {
      name: 'at most the limit',
      tasks: [task('a', { order: 0 }), task('b', { order: 1 }), task('c', { order: 2 })],
      limit: 2,
      expected: ['a', 'b'],
    },
    { name: 'nothing with no slot at all', tasks: [task('a')], limit: 0, expected: [] },
    {
      name: 'not the tasks already admitted (running, or launched in this pass and still pending in the snapshot)',
      tasks: [task('a', { status: 'running' }), task('b', { order: 1 }), task('c', { order: 2 }), task('d', { order: 3 })],
      running: ['a', 'b'],
      limit: 2,
      expected: ['c', 'd'],
    },
    {
      name: 'not finished tasks',
      tasks: [
        task('a', { status: 'succeeded' }),
        task('b', { status: 'failed', order: 1 }),
        task('c', { status: 'skipped', order: 2 }),
        task('d', { status: 'interrupted', order: 3 }),
        task('e', { order: 4 }),
      ],
      limit: 5,
      expected: ['e'],
    },
    {
      name: 'a task whose dependencies succeeded or are running (also admitted in this pass) is included',
      tasks: [
        task('a', { status: 'succeeded' }),
        task('b', { status: 'running', order: 1 }),
        task('c', { order: 2 }),
        task('d', { dependsOn: ['a', 'b'], order: 3 }),
        task('e', { dependsOn: ['c'], order: 4 }),
      ],
      running: ['b', 'c'],
      limit: 5,
      expected: ['d', 'e'],
    },
    {
      name: 'not a task waiting for a dependency that has not started: it is further away',
      tasks: [task('a', { status: 'running' }), task('b', { dependsOn: ['a'], order: 1 }), task('c', { dependsOn: ['b'], order: 2 })],
      running: ['a'],
      limit: 3,
      expected: ['b'],
    },
    {
      name: 'never a task that can no longer run: a dependency failed, was skipped or interrupted',
      tasks: [
        task('a', { status: 'failed' }),
        task('b', { status: 'skipped', order: 1 }),
        task('c', { status: 'interrupted', order: 2 }),
        task('d', { dependsOn: ['a'], order: 3 }),
        task('e', { dependsOn: ['b'], order: 4 }),
        task('f', { dependsOn: ['c'], order: 5 }),
        task('g', { order: 6 }),
      ],
      limit: 5,
      expected: ['g'],
    },
    {
      name: 'a task waiting out a retry backoff is still next',
      tasks: [task('a', { status: 'running' }), task('b', { retryAt: 10_000, order: 1 }), task('c', { order: 2 })],
      running: ['a'],
      limit: 2,
      expected: ['b', 'c'],
    },
  ];

  for (const { name, tasks, running = [], limit, expected } of cases) {
    it(name, () => {
      expect(aheadOfTime(tasks, new Set(running), limit)).toEqual(expected);
    });
  }
});

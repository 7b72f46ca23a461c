import { describe, expect, it } from 'vitest';
import { ConflictIndex } from '../../src/graph/conflicts.js';
import { criticalPath, expectedDurations, median, remainingPaths, simulateRun, type PathTask } from '../../src/scheduler/critical-path.js';
import { pickReady, type SchedulableTask } from '../../src/scheduler/policy.js';

/** Tasks from a compact spec: `b<a` means b depends on a; given order is the order listed. */
function graph(spec: string): PathTask[] {
  return spec.split(' ').map((item, order) => {
    const [id, deps] = item.split('<') as [string, string | undefined];
    return { id, dependsOn: deps ? deps.split(',') : [], order };
  });
}
const pairs = (spec: string): ConflictIndex =>
  new ConflictIndex(spec ? spec.split(' ').map((pair) => ({ a: pair.split('-')[0]!, b: pair.split('-')[1]! })) : []);
const units = (tasks: PathTask[], overrides: Record<string, number | undefined> = {}): Map<string, number> =>
  new Map(tasks.map((task) => [task.id, overrides[task.id] ?? 1]));

describe('median', () => {
  it.each([
    [[], undefined],
    [[5], 5],
    [[3, 1, 2], 2],
    [[4, 1, 3, 2], 2.5],
  ])('median(%j) = %s', (values, expected) => {
    expect(median(values)).toBe(expected);
  });
});

describe('expectedDurations', () => {
  it.each([
    {
      name: 'nothing measured: one unit each',
      earlier: {},
      finished: [],
      expected: { a: 1, b: 1 },
      sources: { a: 'unit', b: 'unit' },
      measured: false,
    },
    {
      name: 'an earlier run of the same task id wins',
      earlier: { a: 9000 },
      finished: [2000, 4000],
      expected: { a: 9000, b: 3000 },
      sources: { a: 'earlier-run', b: 'this-run' },
      measured: true,
    },
    {
      name: 'otherwise the median of the tasks finished in this run',
      earlier: {},
      finished: [1000, 5000, 2000],
      expected: { a: 2000, b: 2000 },
      sources: { a: 'this-run', b: 'this-run' },
      measured: true,
    },
    {
      name: 'with nothing finished yet, one unit is the median of the earlier durations (one scale for all)',
      earlier: { a: 6000 },
      finished: [],
      expected: { a: 6000, b: 6000 },
      sources: { a: 'earlier-run', b: 'unit' },
      measured: true,
    },
  ])('$name', ({ earlier, finished, expected, sources, measured }) => {
    const result = expectedDurations(['a', 'b'], new Map(Object.entries(earlier)), finished);
    expect(Object.fromEntries(result.byId)).toEqual(expected);
    expect(Object.fromEntries(result.source)).toEqual(sources);
    expect(result.measured).toBe(measured);
  });
});

describe('remainingPaths', () => {
  it.each([
    { name: 'independent tasks: their own duration', spec: 'a b c', conflicts: '', durations: {}, expected: { a: 1, b: 1, c: 1 } },
    {
      name: 'a chain counts everything after each task',
      spec: 'x c1 c2<c1 c3<c2',
      conflicts: '',
      durations: {},
      expected: { x: 1, c1: 3, c2: 2, c3: 1 },
    },
    {
      name: 'the longest branch counts, in expected duration',
      spec: 'r a<r b<r',
      conflicts: '',
      durations: { a: 5, b: 2 },
      expected: { r: 6, a: 5, b: 2 },
    },
    {
      name: 'a task that conflicts with many goes before them (they wait for it)',
      spec: 'a hub b c',
      conflicts: 'a-hub hub-b hub-c',
      durations: {},
      expected: { a: 1, hub: 2, b: 1, c: 1 },
    },
    {
      name: 'of a conflicting pair, the one on the longer chain goes first and the other waits for it',
      spec: 'a b c<b d<c',
      conflicts: 'a-b',
      durations: {},
      expected: { a: 1, b: 3, c: 2, d: 1 },
    },
    {
      name: 'a conflict puts the partner and what depends on it behind the task',
      spec: 'long1 long2<long1 p q<p',
      conflicts: 'long1-p',
      durations: { long1: 10, long2: 10 },
      expected: { long1: 20, long2: 10, p: 2, q: 1 },
    },
    {
      name: 'durations of 0 count as 1 so a dependency always outranks its dependent',
      spec: 'a b<a',
      conflicts: 'a-b',
      durations: { a: 0, b: 0 },
      expected: { a: 2, b: 1 },
    },
    {
      name: 'tasks not given (finished ones) do not count',
      spec: 'b<done c<b',
      conflicts: 'b-gone',
      durations: {},
      expected: { b: 2, c: 1 },
    },
  ])('$name', ({ spec, conflicts, durations, expected }) => {
    const tasks = graph(spec);
    expect(Object.fromEntries(remainingPaths(tasks, units(tasks, durations), pairs(conflicts)))).toEqual(expected);
  });
});

describe('criticalPath', () => {
  it.each([
    { spec: 'a b c', conflicts: '', durations: {}, path: ['a'], length: 1 },
    { spec: 'x1 x2 c1 c2<c1 c3<c2', conflicts: '', durations: {}, path: ['c1', 'c2', 'c3'], length: 3 },
    { spec: 'r a<r b<r', conflicts: '', durations: { a: 5, b: 2 }, path: ['r', 'a'], length: 6 },
    { spec: 'a hub b', conflicts: 'a-hub hub-b', durations: {}, path: ['hub', 'a'], length: 2 },
    { spec: 'a hub b', conflicts: 'a-hub hub-b', durations: { b: 4 }, path: ['b', 'hub', 'a'], length: 6 },
    { spec: '', conflicts: '', durations: {}, path: [], length: 0 },
  ])('$spec (conflicts: $conflicts) → $path', ({ spec, conflicts, durations, path, length }) => {
    const tasks = spec ? graph(spec) : [];
    expect(criticalPath(tasks, units(tasks, durations), pairs(conflicts))).toEqual({ path, length });
  });
});

describe('simulateRun', () => {
  /** The example: 16 one-second tasks given first, a chain of five two-second tasks given last, 4 slots. */
  const example = (): Array<PathTask & { priority: number }> => [
    ...Array.from({ length: 16 }, (_, index) => ({ id: `s${index}`, dependsOn: [], order: index, priority: 0 })),
    ...Array.from({ length: 5 }, (_, index) => ({
      id: `c${index}`,
      dependsOn: index === 0 ? [] : [`c${index - 1}`],
      order: 16 + index,
      priority: 0,
    })),
  ];
  const durations = (tasks: PathTask[]): Map<string, number> => new Map(tasks.map((task) => [task.id, task.id.startsWith('c') ? 2 : 1]));

  it('critical path first reaches the lower bound on the chain-given-last workload', () => {
    const tasks = example();
    expect(simulateRun(tasks, durations(tasks), pairs(''), 4)).toEqual({ length: 10, lowerBound: 10 });
  });

  it('priority still comes first: the same workload with the short tasks pinned ahead takes longer', () => {
    const tasks = example().map((task) => (task.id.startsWith('s') ? { ...task, priority: 1 } : task));
    expect(simulateRun(tasks, durations(tasks), pairs(''), 4)).toEqual({ length: 14, lowerBound: 10 });
  });

  it('never runs two conflicting tasks at once', () => {
    const tasks = graph('a b c').map((task) => ({ ...task, priority: 0 }));
    expect(simulateRun(tasks, units(tasks), pairs('a-b b-c a-c'), 3)).toEqual({ length: 3, lowerBound: 3 });
  });
});

describe('pickReady with remaining paths', () => {
  const task = (id: string, order: number, overrides: Partial<SchedulableTask> = {}): SchedulableTask => ({
    id,
    status: 'pending',
    dependsOn: [],
    priority: 0,
    order,
    ...overrides,
  });
  it.each([
    { name: 'the longer remaining path first', tasks: [task('a', 0, { remaining: 1 }), task('b', 1, { remaining: 5 })], picked: ['b'] },
    {
      name: 'priority before the path',
      tasks: [task('a', 0, { remaining: 1, priority: 1 }), task('b', 1, { remaining: 5 })],
      picked: ['a'],
    },
    { name: 'then the order given', tasks: [task('a', 0, { remaining: 2 }), task('b', 1, { remaining: 2 })], picked: ['a'] },
  ])('$name', ({ tasks, picked }) => {
    expect(pickReady(tasks, new Set(), 1, pairs(''), 0)).toEqual(picked);
  });
});

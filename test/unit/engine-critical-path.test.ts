import { describe, expect, it } from 'vitest';
import { startEngine, type EngineHarness, type EngineTask } from '../support/engine.js';
import { settle } from '../support/fake-clock.js';
import { succeeded } from '../support/fake-executor.js';

/**
 * Waits (in real time, the store writes real files) until the engine has taken in every finished
 * attempt and filled its slots: as many attempts under way as there are slots or ready tasks.
 */
async function untilSettled(engine: EngineHarness, slots: number, finished: number, ended: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    await settle(2);
    if (ended()) return;
    const tasks = engine.store.tasks;
    const succeeded = new Set(tasks.filter((task) => task.status === 'succeeded').map((task) => task.id));
    const ready = tasks.filter((task) => !succeeded.has(task.id) && task.dependsOn.every((dep) => succeeded.has(dep))).length;
    const running = tasks.filter((task) => task.status === 'running').length;
    const underWay = engine.executor.attempts.length - finished;
    if (succeeded.size === finished && underWay === Math.min(slots, ready) && running === underWay) return;
    if (Date.now() > deadline) throw new Error(`the engine never settled (${underWay} attempts under way, ${ready} ready)`);
  }
}

/**
 * Plays agents that take a set time on the fake clock: each attempt the engine starts finishes
 * `durationOf(id)` ms after it started. Returns the order attempts started in, when each started
 * and when the last one ended (ms from the start). The workload must be conflict-free unless slots is 1.
 */
async function playRun(
  engine: EngineHarness,
  slots: number,
  durationOf: (id: string) => number,
): Promise<{ started: string[]; startedAt: Map<string, number>; elapsedMs: number }> {
  const start = engine.clock.now();
  const due = new Map<number, number>();
  const finished = new Set<number>();
  const startedAt = new Map<string, number>();
  let ended = false;
  void engine.done.then(() => (ended = true));
  for (;;) {
    await untilSettled(engine, slots, finished.size, () => ended);
    if (ended) break;
    engine.executor.attempts.forEach((attempt, index) => {
      if (due.has(index)) return;
      due.set(index, engine.clock.now() + durationOf(attempt.spec.task.id));
      startedAt.set(attempt.spec.task.id, engine.clock.now() - start);
    });
    const open = [...due].filter(([index]) => !finished.has(index));
    const next = Math.min(...open.map(([, at]) => at));
    await engine.clock.advance(next - engine.clock.now());
    for (const [index, at] of open) {
      if (at > next) continue;
      finished.add(index);
      engine.executor.attempts[index]!.finish(succeeded());
    }
  }
  await engine.done;
  return { started: engine.executor.startedIds(), startedAt, elapsedMs: Math.max(...due.values()) - start };
}

/** The workload: 16 one-second tasks given first, a chain of five two-second tasks given last. */
function chainGivenLast(): EngineTask[] {
  return [
    ...Array.from({ length: 16 }, (_, index) => ({ id: `s${index}` })),
    ...Array.from({ length: 5 }, (_, index) => ({ id: `c${index}`, dependsOn: index === 0 ? [] : [`c${index - 1}`] })),
  ];
}
const seconds = (id: string): number => (id.startsWith('c') ? 2_000 : 1_000);

describe('critical-path-first scheduling in the engine (fake clock, fake executor)', () => {
  it('starts the chain given last first, and the run takes its lower bound max(critical path, work ÷ slots)', async () => {
    const engine = await startEngine(chainGivenLast(), { config: { maxParallel: 4 } });
    const { started, startedAt, elapsedMs } = await playRun(engine, 4, seconds);
    expect(started.slice(0, 4)).toEqual(['c0', 's0', 's1', 's2']);
    // Each link of the chain starts the moment the one before it ends, ahead of the short tasks.
    expect(['c0', 'c1', 'c2', 'c3', 'c4'].map((id) => startedAt.get(id))).toEqual([0, 2_000, 4_000, 6_000, 8_000]);
    // Lower bound: max(5 × 2 s, (16 × 1 s + 5 × 2 s) ÷ 4 = 6.5 s) = 10 s.
    expect(elapsedMs).toBe(10_000);
    expect(engine.store.tasks.every((task) => task.status === 'succeeded')).toBe(true);
  });

  it('priority still wins over the path: with the short tasks pinned ahead the chain starts after them', async () => {
    const tasks = chainGivenLast().map((task) => (task.id.startsWith('s') ? { ...task, priority: 1 } : task));
    const engine = await startEngine(tasks, { config: { maxParallel: 4 } });
    const { started, elapsedMs } = await playRun(engine, 4, seconds);
    expect(started.slice(0, 4)).toEqual(['s0', 's1', 's2', 's3']);
    expect(elapsedMs).toBe(14_000);
  });

  it('ranks by what the same task ids took in earlier runs of the repository', async () => {
    const engine = await startEngine([{ id: 'quick' }, { id: 'medium' }, { id: 'slow' }], {
      config: { maxParallel: 1 },
      earlier: new Map([
        ['quick', 1_000],
        ['slow', 60_000],
        ['medium', 5_000],
      ]),
    });
    const { started } = await playRun(engine, 1, () => 1_000);
    expect(started).toEqual(['slow', 'medium', 'quick']);
  });

  it('a task that conflicts with many goes first among equals: they wait for it, not it for each of them', async () => {
    // One slot; "hub" conflicts with two tasks: it blocks them, so it goes first among equals.
    const engine = await startEngine([{ id: 'a' }, { id: 'b' }, { id: 'hub' }], {
      config: { maxParallel: 1 },
      conflicts: [
        { a: 'hub', b: 'a' },
        { a: 'hub', b: 'b' },
      ],
    });
    const { started } = await playRun(engine, 1, () => 1_000);
    expect(started).toEqual(['hub', 'a', 'b']);
  });
});

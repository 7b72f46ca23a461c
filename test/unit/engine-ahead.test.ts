import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { startEngine } from '../support/engine.js';
import { settle } from '../support/fake-clock.js';
import { failedWith, succeeded } from '../support/fake-executor.js';

describe('worktrees made ahead of time, in-process (fake clock, fake executor)', () => {
  it('hands the executor the next tasks to admit, at most the limit, after each admission and end; drains before the run ends', async () => {
    const engine = await startEngine([{ id: 'a' }, { id: 'b' }, { id: 'c' }], { config: { maxParallel: 1 } });
    const a = await engine.executor.started('a');
    await settle();
    // a runs; b is the next to start, with the branch, worktree and base its attempt will use.
    expect(engine.executor.ahead).toEqual([
      [{ id: 'b', branch: engine.task('b').branch, worktree: path.join(engine.store.run.worktreeRoot, 'b'), baseSha: 'base' }],
    ]);
    a.finish(succeeded());
    const b = await engine.executor.started('b');
    await settle();
    expect(engine.executor.aheadIds()).toEqual(['c']);
    b.finish(succeeded());
    const c = await engine.executor.started('c');
    await settle();
    expect(engine.executor.aheadIds()).toEqual([]);
    expect(engine.executor.drains).toBe(0);
    // Each list came once the tasks admitted in the same pass were with the executor: they take the git lock first.
    expect(engine.executor.startedBeforeAhead).toEqual([['a'], ['a', 'b'], ['a', 'b', 'c']]);

    // The run ends only once what is under way ahead of time has ended.
    let release!: () => void;
    engine.executor.drainUntil = new Promise((resolve) => (release = resolve));
    c.finish(succeeded());
    await settle();
    expect(engine.executor.drains).toBe(1);
    expect(engine.events.some((event) => event.type === 'run-finished')).toBe(false);
    release();
    expect((await engine.done).exitCode).toBe(0);
    // Every list was a change (none handed over twice in a row), and the last one was empty.
    expect(engine.executor.ahead.map((tasks) => tasks.map((task) => task.id))).toEqual([['b'], ['c'], []]);
  });

  it('with free slots and a chain: the tasks waiting only for running work, in admission order, never past the limit', async () => {
    const engine = await startEngine(
      [
        { id: 'a' },
        { id: 'b', dependsOn: ['a'] },
        { id: 'c', dependsOn: ['b'] },
        { id: 'd', priority: -1 },
        { id: 'e', priority: -1 },
        { id: 'f', priority: -1 },
      ],
      { config: { maxParallel: 2 } },
    );
    // a and d run: b (its dependency runs) and e are next; c waits for b, which has not started.
    await engine.executor.started('a');
    const d = await engine.executor.started('d');
    await settle();
    expect(engine.executor.aheadIds()).toEqual(['b', 'e']);
    d.finish(succeeded());
    await engine.executor.started('e');
    await settle();
    expect(engine.executor.aheadIds()).toEqual(['b', 'f']);
  });

  it('never a task that can no longer run: a failed dependency drops its dependents from the list', async () => {
    const engine = await startEngine([{ id: 'a' }, { id: 'b', dependsOn: ['a'] }, { id: 'c' }], {
      config: { maxParallel: 1, retries: { count: 0 }, fallback: { enabled: false } },
    });
    const a = await engine.executor.started('a');
    await settle();
    expect(engine.executor.aheadIds()).toEqual(['b']);
    a.finish(failedWith('agent-error'));
    const c = await engine.executor.started('c');
    await settle();
    expect(engine.task('b').status).toBe('skipped');
    expect(engine.executor.aheadIds()).toEqual([]);
    c.finish(succeeded());
    expect((await engine.done).exitCode).toBe(1);
  });

  it('on Ctrl-C the list is dropped at once, and the run ends only after what is under way', async () => {
    const engine = await startEngine([{ id: 'a' }, { id: 'b' }], { config: { maxParallel: 1 } });
    const a = await engine.executor.started('a');
    await settle();
    expect(engine.executor.aheadIds()).toEqual(['b']);
    let release!: () => void;
    engine.executor.drainUntil = new Promise((resolve) => (release = resolve));
    engine.orchestrator.interrupt();
    expect(engine.executor.ahead.at(-1)).toEqual([]);
    a.finish({ outcome: { status: 'interrupted', reason: 'stopped by orch (interrupt)' } });
    // Recording a's end writes the registry to disk first: on a loaded machine that takes longer than a settle.
    await vi.waitFor(() => expect(engine.executor.drains).toBe(1));
    await settle();
    expect(engine.events.some((event) => event.type === 'run-finished')).toBe(false);
    release();
    expect((await engine.done).exitCode).toBe(130);
    expect(engine.task('b').status).toBe('pending');
    expect(engine.executor.ahead.at(-1)).toEqual([]);
  });

  it('once the budget is spent nothing new starts, so nothing is made ahead of time', async () => {
    const engine = await startEngine([{ id: 'a' }, { id: 'b' }], { config: { maxParallel: 1, budget: { maxCostUsd: 0.01 } } });
    const a = await engine.executor.started('a');
    await settle();
    expect(engine.executor.aheadIds()).toEqual(['b']);
    a.finish(succeeded());
    expect((await engine.done).exitCode).toBe(75);
    expect(engine.executor.startedIds()).toEqual(['a']);
    expect(engine.executor.ahead.at(-1)).toEqual([]);
  });

  it('with worktree.ahead false, nothing is made ahead of time', async () => {
    const engine = await startEngine([{ id: 'a' }, { id: 'b' }], { config: { maxParallel: 1, worktree: { ahead: false } } });
    (await engine.executor.started('a')).finish(succeeded());
    (await engine.executor.started('b')).finish(succeeded());
    expect((await engine.done).exitCode).toBe(0);
    expect(engine.executor.ahead).toEqual([]);
  });
});

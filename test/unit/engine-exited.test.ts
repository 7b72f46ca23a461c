import { describe, expect, it } from 'vitest';
import { startEngine } from '../support/engine.js';
import { settle } from '../support/fake-clock.js';
import { failedWith, succeeded } from '../support/fake-executor.js';

describe('an agent that exited gives its slot up while its work is saved (in-process, fake clock and executor)', () => {
  it('after a success the next task starts at once; the task stays running until its result, and its cost counts already', async () => {
    const engine = await startEngine([{ id: 'a' }, { id: 'b' }, { id: 'c' }], { config: { maxParallel: 1 } });
    const a = await engine.executor.started('a');
    await a.control.update({ kind: 'exited', outcome: 'succeeded', costUsd: 0.25 });
    const b = await engine.executor.started('b');
    expect(engine.task('a')).toMatchObject({ status: 'running', costUsd: 0.25 });
    // One agent at a time still: c waits for b's slot, not for a's end.
    await settle();
    expect(engine.executor.startedIds()).toEqual(['a', 'b']);
    expect(engine.task('c').waiting).toEqual({ kind: 'limit', limit: 1, reason: 'max-parallel' });
    a.finish({ ...succeeded(), costUsd: 0.25 });
    await settle();
    expect(engine.task('a')).toMatchObject({ status: 'succeeded', costUsd: 0.25 });
    expect(engine.executor.startedIds()).toEqual(['a', 'b']);
    b.finish(succeeded());
    (await engine.executor.started('c')).finish(succeeded());
    expect((await engine.done).exitCode).toBe(0);
  });

  it('after a failure the slot stays taken until the attempt ends (retry policy, breaker and API pressure first)', async () => {
    const engine = await startEngine([{ id: 'a' }, { id: 'b' }], { config: { maxParallel: 1, retries: { count: 0 } } });
    const a = await engine.executor.started('a');
    await a.control.update({ kind: 'exited', outcome: 'failed' });
    await settle();
    expect(engine.executor.startedIds()).toEqual(['a']);
    a.finish(failedWith('exit-code', 'exit code 1'));
    (await engine.executor.started('b')).finish(succeeded());
    expect((await engine.done).exitCode).toBe(1);
  });

  it('a task that waits for this one (a dependent, or one editing the same files) gets its slot at its end, before the others', async () => {
    const engine = await startEngine([{ id: 'a' }, { id: 'b', dependsOn: ['a'] }, { id: 'c' }, { id: 'd' }], {
      config: { maxParallel: 1 },
      conflicts: [{ a: 'b', b: 'c' }],
    });
    const a = await engine.executor.started('a');
    await a.control.update({ kind: 'exited', outcome: 'succeeded' });
    await settle();
    expect(engine.executor.startedIds()).toEqual(['a']);
    a.finish(succeeded());
    const b = await engine.executor.started('b');
    // c conflicts with b: b's slot waits for b's end too, d is not let in ahead of c.
    await b.control.update({ kind: 'exited', outcome: 'succeeded' });
    await settle();
    expect(engine.executor.startedIds()).toEqual(['a', 'b']);
    b.finish(succeeded());
    const c = await engine.executor.started('c');
    await c.control.update({ kind: 'exited', outcome: 'succeeded' });
    const d = await engine.executor.started('d');
    c.finish(succeeded());
    d.finish(succeeded());
    expect((await engine.done).exitCode).toBe(0);
  });

  it('the cost an exited agent reported stops admissions once the budget is reached, before its result comes', async () => {
    const engine = await startEngine([{ id: 'a' }, { id: 'b' }], { config: { maxParallel: 1, budget: { maxCostUsd: 0.1 } } });
    const a = await engine.executor.started('a');
    await a.control.update({ kind: 'exited', outcome: 'succeeded', costUsd: 0.2 });
    await settle();
    expect(engine.executor.startedIds()).toEqual(['a']);
    expect(engine.store.run.halted).toMatchObject({ kind: 'budget' });
    a.finish({ ...succeeded(), costUsd: 0.2 });
    const outcome = await engine.done;
    expect(outcome.exitCode).toBe(75);
    expect(engine.task('b').status).toBe('pending');
  });
});

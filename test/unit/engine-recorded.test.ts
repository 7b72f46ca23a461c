import { readFile } from 'node:fs/promises';
import { describe, expect, it, vi } from 'vitest';
import { UserError } from '../../src/errors.js';
import { startEngine } from '../support/engine.js';
import { settle } from '../support/fake-clock.js';
import { succeeded } from '../support/fake-executor.js';

async function statusOnDisk(file: string, id: string): Promise<unknown> {
  const registry = JSON.parse(await readFile(file, 'utf8')) as { tasks: Array<{ id: string; status: string }> };
  return registry.tasks.find((task) => task.id === id)?.status;
}

describe('an attempt’s start is recorded while the executor prepares it (in-process, fake executor)', () => {
  it('the executor has the attempt before the registry says it runs; its agent starts only once it does', async () => {
    const engine = await startEngine([{ id: 'a' }]);
    // The registry write that says a runs waits at a gate the test opens.
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const recordAll = engine.store.recordAll.bind(engine.store);
    engine.store.recordAll = async (events) => {
      if (events.some((event) => event.type === 'task-status' && event.status === 'running')) await gate;
      return recordAll(events);
    };
    // Handed over once the engine's first writes (real files) are done: waited for, not timed.
    await vi.waitFor(() => expect(engine.executor.handed).toEqual(['a']), { timeout: 10_000 });
    await settle();
    // Handed over, not on record yet: no agent.
    expect(engine.executor.startedIds()).toEqual([]);
    expect(await statusOnDisk(engine.store.paths.registry, 'a')).not.toBe('running');
    open();
    const a = await engine.executor.started('a');
    expect(await statusOnDisk(engine.store.paths.registry, 'a')).toBe('running');
    expect(
      engine.events.filter((event) => event.type === 'task-status').map((event) => event.type === 'task-status' && event.status),
    ).toEqual(['running']);
    a.finish(succeeded());
    expect((await engine.done).exitCode).toBe(0);
    expect(await statusOnDisk(engine.store.paths.registry, 'a')).toBe('succeeded');
  });

  it('a start that cannot be recorded (a full disk) starts no agent and stops the run with the cause', async () => {
    const engine = await startEngine([{ id: 'a' }, { id: 'b' }], { config: { maxParallel: 1 } });
    const recordAll = engine.store.recordAll.bind(engine.store);
    engine.store.recordAll = (events) =>
      events.some((event) => event.type === 'task-status' && event.status === 'running')
        ? Promise.reject(new UserError('cannot write the registry r: the disk is full (ENOSPC); free some space'))
        : recordAll(events);
    const outcome = await engine.done;
    expect(outcome.exitCode).toBe(2);
    expect(outcome.error?.message).toMatch(/the disk is full/);
    expect(engine.executor.startedIds()).toEqual([]);
    expect(engine.task('a')).toMatchObject({ status: 'interrupted', reason: 'stopped before the agent started' });
    expect(engine.task('b').status).toBe('pending');
  });
});

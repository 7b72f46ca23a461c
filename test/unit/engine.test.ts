import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import type { StampedEvent } from '../../src/events.js';
import { startEngine, statusesOf } from '../support/engine.js';
import { settle } from '../support/fake-clock.js';
import { failedWith, succeeded } from '../support/fake-executor.js';

/** The ledger as written on disk: every recorded event, numbered 1, 2, 3… */
async function ledger(file: string): Promise<StampedEvent[]> {
  return (await readFile(file, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as StampedEvent);
}

describe('the engine, in-process (fake clock, fake executor)', () => {
  it('runs dependencies first, hands the executor everything an attempt needs, and finishes once', async () => {
    const engine = await startEngine([{ id: 'a' }, { id: 'b', dependsOn: ['a'] }]);
    const a = await engine.executor.started('a');
    expect(a.spec).toMatchObject({
      runId: '20260101-000000-abcd',
      task: { id: 'a', text: '# a\n', timeoutMs: engine.config.timeouts.task },
      attempt: { number: 1, kind: 'fresh', log: 'logs/a.jsonl' },
      base: { sha: 'base' },
      mergeFirst: [],
    });
    expect(engine.executor.startedIds()).toEqual(['a']);
    a.finish(succeeded(2));
    const b = await engine.executor.started('b');
    expect(b.spec.mergeFirst).toEqual([{ branch: engine.task('a').branch, taskId: 'a', title: 'a', relation: 'dependency' }]);
    b.finish(succeeded());
    expect(await engine.done).toEqual({ exitCode: 0 });
    expect(engine.task('a')).toMatchObject({ status: 'succeeded', commits: [{ sha: 'sha0' }, { sha: 'sha1' }], turns: 2, costUsd: 0.01 });

    // Nothing happens after the end: timers are gone, and the run finished exactly once.
    expect(engine.clock.pending).toBe(0);
    engine.orchestrator.interrupt();
    await engine.clock.advance(60_000);
    const events = await ledger(engine.store.paths.ledger);
    expect(events.filter((event) => event.type === 'run-finished')).toHaveLength(1);
    expect(events.at(-1)?.type).toBe('run-finished');
    expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index + 1));
  });

  it('builds a task on the conflicting tasks that succeeded before it started, not on one that failed', async () => {
    // b conflicts with both, so critical-path-first would start it first: a lower priority makes it wait for them.
    const engine = await startEngine([{ id: 'a' }, { id: 'b', priority: -1 }, { id: 'c' }], {
      conflicts: [
        { a: 'a', b: 'b' },
        { a: 'b', b: 'c' },
      ],
      config: { retries: { count: 0 }, fallback: { enabled: false } },
    });
    // a and c do not conflict with each other: they run side by side; b waits for both.
    (await engine.executor.started('a')).finish(succeeded());
    (await engine.executor.started('c')).finish(failedWith('agent-error'));
    const b = await engine.executor.started('b');
    expect(engine.task('b').builtOn).toEqual(['a']);
    expect(b.spec.mergeFirst).toEqual([{ branch: engine.task('a').branch, taskId: 'a', title: 'a', relation: 'conflict' }]);
    expect(engine.task('a').builtOn).toEqual([]);
    b.finish(succeeded());
    expect((await engine.done).exitCode).toBe(1);
  });

  it('waits out a retry backoff on the clock, then retries in the same worktree with a note', async () => {
    const engine = await startEngine([{ id: 'a' }], { config: { retries: { count: 1, backoff: '10s' } } });
    (await engine.executor.started('a')).finish(failedWith('agent-error', 'tests failed'));
    await settle();
    expect(engine.task('a')).toMatchObject({ status: 'pending', retriesUsed: 1 });
    await engine.clock.advance(9_000);
    expect(engine.executor.attempts).toHaveLength(1);
    await engine.clock.advance(1_100);
    const retry = await engine.executor.started('a', 2);
    expect(retry.spec.attempt).toMatchObject({ number: 2, kind: 'retry', log: 'logs/a@2.jsonl' });
    expect(retry.spec.note).toContain('tests failed');
    retry.finish(succeeded());
    expect((await engine.done).exitCode).toBe(0);
  });

  it('counts parallel failures in a row: the circuit breaker goes sequential at the threshold, and a success resets it', async () => {
    const engine = await startEngine([{ id: 'a' }, { id: 'b' }, { id: 'c' }, { id: 'd' }, { id: 'e' }], {
      config: { retries: { count: 0 }, fallback: { failureThreshold: 2 } },
    });
    for (const id of ['a', 'b', 'c', 'd', 'e']) await engine.executor.started(id);
    (await engine.executor.started('a')).finish(failedWith('agent-error'));
    await settle();
    (await engine.executor.started('b')).finish(succeeded());
    await settle();
    (await engine.executor.started('c')).finish(failedWith('agent-error'));
    await settle();
    expect(engine.store.run.mode).toBe('parallel');
    (await engine.executor.started('d')).finish(failedWith('exit-code'));
    await settle();
    expect(engine.store.run).toMatchObject({ mode: 'sequential', modeReason: '2 tasks failed in a row while running in parallel' });
    // Rate limiting is the account's, not the task's: it never counts.
    (await engine.executor.started('e')).finish(failedWith('rate-limited', 'API 429', 429));
    await settle();
    expect(engine.events.filter((event) => event.type === 'mode')).toHaveLength(1);
    // e waits out the API pause; stopping now ends the run with nothing running.
    expect(engine.task('e')).toMatchObject({ status: 'pending', apiRequeues: 1 });
    engine.orchestrator.interrupt();
    expect((await engine.done).exitCode).toBe(130);
  });

  it('runs the fallback pass one task at a time, reviving what the failures skipped', async () => {
    const engine = await startEngine([{ id: 'a' }, { id: 'b' }, { id: 'c', dependsOn: ['a'] }], { config: { retries: { count: 0 } } });
    (await engine.executor.started('a')).finish(failedWith('agent-error', 'flaky'));
    (await engine.executor.started('b')).finish(succeeded());
    const fallback = await engine.executor.started('a', 2);
    expect(fallback.spec.attempt.kind).toBe('fallback');
    expect(engine.store.run.mode).toBe('sequential');
    expect(engine.task('c')).toMatchObject({ status: 'pending', reason: 'its dependency runs again in the sequential fallback' });
    fallback.finish(succeeded());
    (await engine.executor.started('c')).finish(succeeded());
    expect((await engine.done).exitCode).toBe(0);
    expect(engine.task('a')).toMatchObject({ status: 'succeeded', succeededInFallback: true });
    expect(statusesOf(engine.events, 'c')).toEqual(['skipped', 'pending', 'running', 'succeeded']);
  });

  it('with --no-fallback, failures in parallel neither switch the run to sequential nor run again', async () => {
    const engine = await startEngine([{ id: 'a' }, { id: 'b' }, { id: 'c' }], {
      config: { retries: { count: 0 }, fallback: { enabled: false, failureThreshold: 1 } },
    });
    for (const id of ['a', 'b', 'c']) (await engine.executor.started(id)).finish(failedWith('agent-error'));
    expect((await engine.done).exitCode).toBe(1);
    expect(engine.store.run.mode).toBe('parallel');
    expect(engine.executor.attempts).toHaveLength(3);
  });

  it('an API pause holds new starts until the clock passes it, then wakes by itself', async () => {
    const engine = await startEngine([{ id: 'a' }, { id: 'b', dependsOn: ['a'] }], { config: { api: { backoffBase: '20s' } } });
    const a = await engine.executor.started('a');
    await a.control.update({ kind: 'api-retry', status: 429 });
    a.finish(succeeded());
    await settle();
    const pause = engine.events.find((event) => event.type === 'api-pressure');
    // Equal jitter with random() = 0.5: three quarters of the 20 s window.
    expect(pause).toMatchObject({ status: 429, pausedForMs: 15_000, level: 1 });
    expect(engine.executor.startedIds()).toEqual(['a']);
    await engine.clock.advance(14_000);
    expect(engine.executor.startedIds()).toEqual(['a']);
    await engine.clock.advance(1_100);
    (await engine.executor.started('b')).finish(succeeded());
    expect((await engine.done).exitCode).toBe(0);
  });

  it('an interrupt that comes before the agent starts: no agent starts, the task is interrupted', async () => {
    const engine = await startEngine([{ id: 'a' }], {
      onEvent: (event, harness) => {
        if (event.type === 'task-status' && event.status === 'running') harness.orchestrator.interrupt();
      },
    });
    expect((await engine.done).exitCode).toBe(130);
    // The executor had it while its start was being recorded: it stopped there.
    expect(engine.executor.handed).toEqual(['a']);
    expect(engine.executor.attempts).toEqual([]);
    expect(engine.task('a')).toMatchObject({ status: 'interrupted', reason: 'stopped before the agent started' });
    expect(engine.store.run).toMatchObject({ status: 'interrupted', exitCode: 130 });
  });

  it('an interrupt reaches running attempts through their signal, with the reason', async () => {
    const engine = await startEngine([{ id: 'a' }]);
    const a = await engine.executor.started('a');
    engine.orchestrator.interrupt();
    expect(a.control.signal.aborted).toBe(true);
    expect(a.control.signal.reason).toBe('user');
    expect(a.control.kill.aborted).toBe(false);
    engine.orchestrator.killNow();
    expect(a.control.kill.aborted).toBe(true);
    a.finish({ outcome: { status: 'interrupted', reason: 'stopped by orch (interrupt)' } });
    expect((await engine.done).exitCode).toBe(130);
  });

  it('an executor that cannot run the attempt (a full disk) leaves no task running and aborts the run with the cause', async () => {
    const engine = await startEngine([{ id: 'a' }, { id: 'b' }], { cores: 1, config: { maxParallel: 1 } });
    engine.executor.run = () => Promise.reject(new UserError('cannot write the prompt file p: the disk is full (ENOSPC); free some space'));
    const outcome = await engine.done;
    expect(outcome.exitCode).toBe(2);
    expect(outcome.error?.message).toMatch(/the disk is full/);
    expect(engine.task('a')).toMatchObject({ status: 'interrupted' });
    expect(engine.task('a').reason).toMatch(/^the attempt could not run: cannot write the prompt file/);
    expect(engine.task('b').status).toBe('pending');
    expect(engine.store.run).toMatchObject({ status: 'aborted', exitCode: 2 });
  });

  it('a bug while running an attempt is an internal error with its stack, and the run still ends consistent', async () => {
    const engine = await startEngine([{ id: 'a' }]);
    engine.executor.run = () => Promise.reject(new TypeError('x is not a function'));
    const outcome = await engine.done;
    expect(outcome.exitCode).toBe(1);
    expect(outcome.error?.message).toBe('internal error: x is not a function');
    expect(outcome.internalError?.stack).toContain('TypeError: x is not a function');
    expect(engine.task('a').status).toBe('interrupted');
  });

  it('records the agent before anything else, and the session, activity and preparation as they come', async () => {
    const engine = await startEngine([{ id: 'a' }]);
    const a = await engine.executor.started('a');
    await a.control.update({ kind: 'ports', ports: [20100, 20101] });
    await a.control.update({ kind: 'prepared', ready: true, copiedFiles: ['.env'], setupMs: 1200 });
    await a.control.update({ kind: 'agent', identity: { pid: 4242, startTime: 'x' } });
    const onDisk = JSON.parse(await readFile(engine.store.paths.registry, 'utf8')) as { tasks: Array<Record<string, unknown>> };
    expect(onDisk.tasks[0]).toMatchObject({
      agent: { pid: 4242 },
      ports: [20100, 20101],
      copiedFiles: ['.env'],
      setupMs: 1200,
      worktreeReady: true,
    });
    await a.control.update({ kind: 'session', sessionId: 's-1' });
    await a.control.update({ kind: 'activity', activity: 'Bash: npm test', turns: 3 });
    expect(engine.task('a')).toMatchObject({ sessionId: 's-1', lastActivity: 'Bash: npm test', turns: 3 });
    expect(engine.events.filter((event) => event.type === 'task-activity')).toEqual([
      expect.objectContaining({ taskId: 'a', activity: 'Bash: npm test', turns: 3 }),
    ]);
    a.finish(succeeded());
    expect((await engine.done).exitCode).toBe(0);
    // Activity is shown live but is not a state change: the ledger does not hold it.
    expect((await ledger(engine.store.paths.ledger)).some((event) => event.type === 'task-activity')).toBe(false);
  });

  it('heartbeats mark the session alive, so a crash leaves a session that ends at its last heartbeat', async () => {
    const engine = await startEngine([{ id: 'a' }], { config: { heartbeat: { interval: '2s' } } });
    const a = await engine.executor.started('a');
    await engine.clock.advance(6_500);
    expect(engine.store.run.sessions[0]!.lastAliveAt).toBe(new Date(Date.parse('2026-01-01T00:00:00.000Z') + 6_000).toISOString());
    expect(engine.task('a').heartbeatAt).toBe(engine.store.run.sessions[0]!.lastAliveAt);
    a.finish(succeeded());
    await engine.done;
  });
});

describe('the engine on workers (run --workers)', () => {
  it('starts nothing while no worker is alive, as many as their slots once they are, and records where each task runs and moves', async () => {
    const workers = { slots: 0 };
    const engine = await startEngine([{ id: 'a' }, { id: 'b' }, { id: 'c' }], { workers });
    await settle();
    expect(engine.executor.startedIds()).toEqual([]);
    expect(engine.store.run.limit).toEqual({ value: 0, reason: 'workers' });

    workers.slots = 2;
    await engine.clock.advance(engine.config.concurrency.sampleInterval);
    const a = await engine.executor.started('a');
    await engine.executor.started('b');
    expect(engine.executor.startedIds()).toEqual(['a', 'b']);
    expect(engine.store.run.limit).toEqual({ value: 2, reason: 'workers' });

    await a.control.update({ kind: 'job', id: 'job-a', queue: 'q' });
    await a.control.update({ kind: 'worker', worker: { id: 'w1-1', name: 'w1', host: 'h1' } });
    await a.control.update({ kind: 'worker', worker: { id: 'w2-1', name: 'w2', host: 'h2' } });
    expect(engine.task('a').attemptLog[0]).toMatchObject({ job: { id: 'job-a', queue: 'q' }, worker: { name: 'w2' }, moves: 1 });
    const moves = engine.events.flatMap((event) => (event.type === 'task-worker' ? [[event.worker, event.from]] : []));
    expect(moves).toEqual([
      ['w1', undefined],
      ['w2', 'w1'],
    ]);
    a.finish(succeeded());
    (await engine.executor.started('b')).finish(succeeded());
    (await engine.executor.started('c')).finish(succeeded());
    expect(await engine.done).toEqual({ exitCode: 0 });
  });
});

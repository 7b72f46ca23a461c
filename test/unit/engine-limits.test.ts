import { describe, expect, it } from 'vitest';
import type { StampedEvent } from '../../src/events.js';
import { startEngine } from '../support/engine.js';
import { settle } from '../support/fake-clock.js';
import { failedWith, succeeded } from '../support/fake-executor.js';
import type { HookPayload, HookRunner, TaskEndPayload } from '../../src/hooks/hooks.js';

const HOUR = 3_600_000;
const waitingOf = (events: readonly StampedEvent[], taskId: string): string[] =>
  events.flatMap((event) =>
    event.type === 'waiting' ? event.changes.filter((change) => change.taskId === taskId).map((change) => change.waiting.kind) : [],
  );

describe('usage limits, in-process (fake clock, fake executor)', () => {
  it('a rejection pauses new starts until the reset (no backoff), requeues the task without a failure, and goes on by itself', async () => {
    // Hours go by on the fake clock: slow timers keep that quick.
    const slowTimers = { heartbeat: { interval: '10m' }, concurrency: { sampleInterval: '10m' } };
    const engine = await startEngine([{ id: 'a' }, { id: 'b' }, { id: 'c' }], {
      config: { maxParallel: 2, retries: { count: 0, apiRequeues: 0 }, ...slowTimers },
    });
    const a = await engine.executor.started('a');
    const b = await engine.executor.started('b');
    const resetsAt = engine.clock.now() + 2 * HOUR;
    await a.control.update({ kind: 'usage-limit', status: 'rejected', resetsAt, limitType: 'five_hour' });
    a.finish({
      outcome: { status: 'failed', failure: 'usage-limit', reason: 'usage limit: resets 4pm', apiStatus: 429, resetsAt },
      exit: { exitCode: 1, signal: null },
    });
    b.finish(succeeded());
    await settle();
    expect(engine.task('a')).toMatchObject({
      status: 'pending',
      retriesUsed: 0,
      apiRequeues: 0,
      waiting: { kind: 'usage-limit', stopped: false },
    });
    expect(engine.task('c').waiting).toMatchObject({
      kind: 'usage-limit',
      until: new Date(resetsAt).toISOString(),
      limitType: 'five_hour',
    });
    expect(engine.store.run).toMatchObject({
      limit: { reason: 'usage-limit' },
      usageLimit: { pausedUntil: new Date(resetsAt).toISOString() },
    });
    expect(engine.events.filter((event) => event.type === 'usage-limit')).toEqual([
      expect.objectContaining({ status: 'rejected', action: 'pause', limitType: 'five_hour', resetsAt: new Date(resetsAt).toISOString() }),
    ]);
    expect(engine.events.some((event) => event.type === 'api-pressure')).toBe(false);

    await engine.clock.advance(2 * HOUR - 1000);
    expect(engine.executor.attempts).toHaveLength(2);
    await engine.clock.advance(1100);
    (await engine.executor.started('a', 2)).finish(succeeded());
    (await engine.executor.started('c')).finish(succeeded());
    expect((await engine.done).exitCode).toBe(0);
    expect(engine.store.run.usageLimit).toBeUndefined();
  });

  it('a reset beyond --max-wait stops admitting tasks, lets the running ones finish, and ends paused (exit 75)', async () => {
    const engine = await startEngine([{ id: 'a' }, { id: 'b' }, { id: 'c', dependsOn: ['a'] }], {
      config: { maxParallel: 2, api: { maxWait: '1h' } },
    });
    const a = await engine.executor.started('a');
    const b = await engine.executor.started('b');
    await b.control.update({ kind: 'usage-limit', status: 'rejected', resetsAt: engine.clock.now() + 3 * HOUR, limitType: 'seven_day' });
    expect(engine.store.run.halted).toMatchObject({ kind: 'usage-limit' });
    expect(a.control.signal.aborted).toBe(false);
    a.finish(succeeded());
    await settle();
    // c's dependency is done, yet it does not start.
    expect(engine.executor.startedIds()).toEqual(['a', 'b']);
    b.finish(succeeded());
    const outcome = await engine.done;
    expect(outcome.exitCode).toBe(75);
    expect(engine.store.run).toMatchObject({ status: 'paused', exitCode: 75, halted: { kind: 'usage-limit' } });
    expect(engine.store.run.reason).toMatch(
      /^the seven_day usage limit resets at .*, in 3h00m, later than --max-wait \(1h00m\): no new task starts; `orch resume 20260101-000000-abcd` continues after the reset$/,
    );
    expect(engine.task('c')).toMatchObject({ status: 'pending', waiting: { kind: 'usage-limit', stopped: true } });
    expect(engine.events.find((event) => event.type === 'usage-limit')).toMatchObject({ action: 'stop' });
  });

  it('a warning holds the limit at the agents running now until the window resets', async () => {
    const engine = await startEngine([{ id: 'a' }, { id: 'b' }, { id: 'c' }, { id: 'd' }], { cores: 1, config: { maxParallel: 2 } });
    const a = await engine.executor.started('a');
    await engine.executor.started('b');
    a.finish(succeeded());
    await settle();
    const c = await engine.executor.started('c');
    // One agent runs... no: b and c run. A warning now holds the run at 2.
    await c.control.update({ kind: 'usage-limit', status: 'allowed_warning', resetsAt: engine.clock.now() + HOUR });
    expect(engine.events.find((event) => event.type === 'usage-limit')).toMatchObject({ action: 'cap', limit: 2 });
    expect(engine.store.run.usageLimit).toMatchObject({ cap: 2 });
    expect(engine.task('d').waiting).toMatchObject({ kind: 'limit', limit: 2 });
    c.finish(succeeded());
    (await engine.executor.started('d')).finish(succeeded());
    (await engine.executor.started('b')).finish(succeeded());
    expect((await engine.done).exitCode).toBe(0);
  });
});

describe('the budget, in-process', () => {
  it('caps each agent by what is left, stops admitting once spent, and ends paused with the rest pending (reason budget)', async () => {
    const engine = await startEngine([{ id: 'a' }, { id: 'b' }, { id: 'c' }], { config: { maxParallel: 1, budget: { maxCostUsd: 0.05 } } });
    const a = await engine.executor.started('a');
    expect(a.spec.task.maxBudgetUsd).toBe(0.05);
    a.finish({ ...succeeded(), costUsd: 0.03 });
    const b = await engine.executor.started('b');
    expect(b.spec.task.maxBudgetUsd).toBe(0.02);
    // The CLI stopped b at its share: not a failure of the task, it waits for more budget.
    b.finish({
      outcome: { status: 'failed', failure: 'budget', reason: 'error_max_budget_usd: spent' },
      exit: { exitCode: 1, signal: null },
      costUsd: 0.021,
    });
    const outcome = await engine.done;
    expect(outcome.exitCode).toBe(75);
    expect(engine.executor.startedIds()).toEqual(['a', 'b']);
    expect(engine.task('b')).toMatchObject({
      status: 'pending',
      reason: 'budget',
      retriesUsed: 0,
      waiting: { kind: 'budget', maxCostUsd: 0.05 },
    });
    expect(engine.task('c').waiting).toMatchObject({ kind: 'budget' });
    expect(engine.store.run).toMatchObject({ status: 'paused', exitCode: 75, halted: { kind: 'budget' } });
    expect(engine.store.run.reason).toBe(
      'the budget of $0.05 is reached ($0.0510 recorded): no new task starts; `orch resume 20260101-000000-abcd --max-cost <more>` continues',
    );
    expect(engine.events.find((event) => event.type === 'budget')).toMatchObject({ maxCostUsd: 0.05 });
  });

  it('a budget reached by the last task ends the run as usual', async () => {
    const engine = await startEngine([{ id: 'a' }], { config: { budget: { maxCostUsd: 0.01 } } });
    (await engine.executor.started('a')).finish({ ...succeeded(), costUsd: 0.02 });
    expect((await engine.done).exitCode).toBe(0);
    expect(engine.store.run.status).toBe('succeeded');
  });
});

describe('waiting reasons, in-process', () => {
  it('are kept on pending tasks and recorded when they change, not at every tick', async () => {
    const engine = await startEngine([{ id: 'a' }, { id: 'b', dependsOn: ['a'] }, { id: 'c' }], {
      cores: 1,
      config: { maxParallel: 1 },
      conflicts: [{ a: 'a', b: 'c' }],
    });
    const a = await engine.executor.started('a');
    expect(engine.task('b').waiting).toEqual({ kind: 'dependency', on: ['a'] });
    expect(engine.task('c').waiting).toEqual({ kind: 'conflict', with: 'a', files: ['shared.txt'] });
    await engine.clock.advance(30_000);
    expect(engine.events.filter((event) => event.type === 'waiting')).toHaveLength(1);
    a.finish(succeeded());
    const b = await engine.executor.started('b');
    expect(engine.task('b').waiting).toBeUndefined();
    expect(engine.task('c').waiting).toEqual({ kind: 'limit', limit: 1, reason: 'max-parallel' });
    b.finish(succeeded());
    (await engine.executor.started('c')).finish(succeeded());
    expect((await engine.done).exitCode).toBe(0);
    expect(waitingOf(engine.events, 'c')).toEqual(['conflict', 'limit']);
  });
});

describe('hooks, in-process', () => {
  it('run when tasks end and when the run ends; a failing hook is a warning and never changes the result', async () => {
    const calls: HookPayload[] = [];
    const hooks: HookRunner = {
      run: async (payload) => {
        calls.push(payload);
        if (payload.event === 'task-end' && payload.taskId === 'b') return 'hook onTaskEnd for task b exited 3 (see logs/hooks.log)';
        if (payload.event === 'run-end') return 'hook onRunEnd exited 1 (see logs/hooks.log)';
        return undefined;
      },
    };
    const engine = await startEngine([{ id: 'a' }, { id: 'b' }, { id: 'c', dependsOn: ['a'] }], {
      hooks,
      config: { retries: { count: 0 }, fallback: { enabled: false } },
    });
    (await engine.executor.started('a')).finish({ ...failedWith('agent-error', 'tests failed'), costUsd: 0.5 });
    (await engine.executor.started('b')).finish(succeeded());
    const outcome = await engine.done;
    expect(outcome).toEqual({ exitCode: 1, warnings: ['hook onRunEnd exited 1 (see logs/hooks.log)'] });
    const ends = calls.filter((call): call is TaskEndPayload => call.event === 'task-end');
    expect(ends.map((call) => `${call.taskId} ${call.status}`).sort()).toEqual(['a failed', 'b succeeded', 'c skipped']);
    expect(ends.find((call) => call.taskId === 'a')).toMatchObject({
      runId: '20260101-000000-abcd',
      reason: 'tests failed',
      costUsd: 0.5,
      branch: engine.task('a').branch,
    });
    expect(calls.at(-1)).toMatchObject({
      event: 'run-end',
      status: 'failed',
      exitCode: 1,
      counts: { failed: 1, succeeded: 1, skipped: 1 },
    });
    const warning = engine.events.findIndex(
      (event) => event.type === 'warning' && event.message.startsWith('hook onTaskEnd for task b exited 3'),
    );
    expect(warning).toBeGreaterThan(-1);
    expect(warning).toBeLessThan(engine.events.findIndex((event) => event.type === 'run-finished'));
    expect(engine.store.run.status).toBe('failed');
  });
});

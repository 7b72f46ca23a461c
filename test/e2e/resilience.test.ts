import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  agentIntervals,
  agentScript,
  agentStarts,
  agentState,
  fakeAgentEnv,
  finishes,
  processesWithEnv,
  roomyMachine,
} from '../support/agents.js';
import { tempRepo } from '../support/git.js';
import { runOrch } from '../support/orch.js';
import { maxConcurrency, overlaps, readLedger, readRunRegistry, runIntervals } from '../support/run-state.js';
import { startOrch, waitFor } from '../support/spawn.js';
import { writeFiles } from '../support/tmp.js';

const config = (settings: object) => ({ '.gadugi/config.json': JSON.stringify(settings) });

describe('API pressure', () => {
  it('pauses new starts on a 429 and requeues the task without counting it as failed', async () => {
    const repo = await tempRepo();
    await writeFiles(repo, {
      ...config({ api: { backoffBase: '1s' } }),
      // Rate limited on its first start: an api_retry in the stream, then a 429 result.
      'prompts/a.md': `# A\n${agentScript({
        runs: [
          [
            { apiRetry: 429, delayMs: 300 },
            { exit: 1, result: 'error', message: 'API Error: Request rejected (429) · Rate limited', apiErrorStatus: 429 },
          ],
          finishes('a.txt'),
        ],
      })}`,
      'prompts/b.md': `# B\n${agentScript({ steps: finishes('b.txt') })}`,
    });
    const state = await agentState();
    const result = await runOrch(['run', 'prompts/*.md', '--max-parallel', '1'], { cwd: repo, env: fakeAgentEnv(state) });
    expect(result.exitCode).toBe(0);
    const registry = await readRunRegistry(repo);
    expect(registry.tasks[0]).toMatchObject({ id: 'a', status: 'succeeded', attempts: 2, apiRequeues: 1, retriesUsed: 0 });
    expect(registry.tasks[0]!.attemptLog.map((attempt) => attempt.kind)).toEqual(['fresh', 'requeue']);

    const ledger = await readLedger(repo);
    expect(ledger.some((event) => event.type === 'task-status' && event.status === 'failed')).toBe(false);
    const pressure = ledger.find((event) => event.type === 'api-pressure');
    expect(pressure).toMatchObject({ status: 429, level: 1 });
    const pausedForMs = (pressure as { pausedForMs: number }).pausedForMs;
    expect(pausedForMs).toBeGreaterThanOrEqual(500);
    // Nothing started during the pause (timestamps recorded by orch, compared with each other).
    const startsAfter = ledger.filter((event) => event.type === 'task-status' && event.status === 'running' && event.seq > pressure!.seq);
    expect(startsAfter.length).toBeGreaterThan(0);
    const pausedUntil = Date.parse((pressure as { pausedUntil: string }).pausedUntil);
    for (const start of startsAfter) expect(Date.parse(start.at)).toBeGreaterThanOrEqual(pausedUntil);
    expect(ledger.some((event) => event.type === 'limit' && event.reason === 'api')).toBe(true);
  });
});

describe('timeouts and retries', () => {
  it('kills a hung agent at its timeout, leaving no process behind', async () => {
    const repo = await tempRepo();
    await writeFiles(repo, {
      ...config({ timeouts: { killGrace: '1s' } }),
      'prompts/hang.md': `---\ntimeout: 2s\n---\n# Hang\n${agentScript({ steps: [{ spawnChild: true }, { hang: 'ignore-term' }] })}`,
    });
    const state = await agentState();
    const result = await runOrch(['run', 'prompts/hang.md', '--retries', '0'], { cwd: repo, env: fakeAgentEnv(state) });
    expect(result.exitCode).toBe(1);
    expect((await readRunRegistry(repo)).tasks[0]).toMatchObject({
      status: 'failed',
      failure: 'timeout',
      reason: 'timeout: the task ran past its time limit',
    });
    // The agent ignored SIGTERM and left a grandchild: both are gone.
    expect(await processesWithEnv(`FAKE_CLAUDE_STATE=${state}`)).toEqual([]);
  });

  it('kills an agent whose stream goes silent (inactivity timeout)', async () => {
    const repo = await tempRepo();
    await writeFiles(repo, {
      ...config({ timeouts: { inactivity: '1s', killGrace: '1s' } }),
      'prompts/quiet.md': `# Quiet\n${agentScript({ steps: [{ sleep: 30_000 }] })}`,
    });
    const state = await agentState();
    const result = await runOrch(['run', 'prompts/quiet.md', '--retries', '0'], { cwd: repo, env: fakeAgentEnv(state) });
    expect(result.exitCode).toBe(1);
    expect((await readRunRegistry(repo)).tasks[0]).toMatchObject({
      failure: 'timeout',
      reason: expect.stringContaining('no output from the agent'),
    });
  });

  it('retries a failed task in its worktree with backoff, keeping every attempt’s log', async () => {
    const repo = await tempRepo();
    await writeFiles(repo, {
      ...config({ retries: { backoff: '300ms' } }),
      'prompts/flaky.md': `# Flaky\n${agentScript({
        runs: [
          [
            { write: 'half.txt', content: 'half\n' },
            { exit: 1, result: 'error', message: 'flaky test' },
          ],
          [{ requireFile: 'half.txt' }, ...finishes('flaky.txt')],
        ],
      })}`,
    });
    const state = await agentState();
    const result = await runOrch(['run', 'prompts/flaky.md', '--retries', '1'], { cwd: repo, env: fakeAgentEnv(state) });
    expect(result.exitCode).toBe(0);
    const registry = await readRunRegistry(repo);
    const task = registry.tasks[0]!;
    expect(task).toMatchObject({ status: 'succeeded', attempts: 2, retriesUsed: 1 });
    expect(task.attemptLog.map((attempt) => [attempt.kind, attempt.outcome])).toEqual([
      ['fresh', 'requeued'],
      ['retry', 'succeeded'],
    ]);
    // Turns and cost are per attempt; the task's are their sums.
    const [one, two] = task.attemptLog;
    expect(one!.turns! > 0 && two!.turns! > 0).toBe(true);
    expect(task.turns).toBe(one!.turns! + two!.turns!);
    expect(task.costUsd).toBeCloseTo(one!.costUsd! + two!.costUsd!, 10);
    const runDir = path.join(repo, '.gadugi', 'runs', registry.run.id);
    // Each attempt's stream, stderr, and the refs recorded before its agent started (for the refs guard).
    expect((await readdir(path.join(runDir, 'logs'))).sort()).toEqual([
      'flaky.jsonl',
      'flaky.refs.json',
      'flaky.stderr',
      'flaky@2.jsonl',
      'flaky@2.refs.json',
      'flaky@2.stderr',
    ]);
    expect(await readFile(path.join(runDir, 'prompts', 'flaky@2.md'), 'utf8')).toContain(
      'an earlier attempt at this task failed (flaky test)',
    );
    const [first, second] = task.attemptLog;
    expect(Date.parse(second!.startedAt) - Date.parse(first!.finishedAt!)).toBeGreaterThanOrEqual(300);
  });
});

describe('circuit breaker and sequential fallback', () => {
  it('switches to one task at a time after consecutive parallel failures, and the fallback pass rescues them', async () => {
    const repo = await tempRepo();
    const state = await agentState();
    const failNow = path.join(state, 'fail-now');
    const succeedNow = path.join(state, 'succeed-now');
    const files: Record<string, string> = {};
    // The first three fail whenever they run in parallel (their first start); alone they succeed.
    for (const id of ['f1', 'f2', 'f3'])
      files[`prompts/${id}.md`] =
        `# ${id}\n${agentScript({ runs: [[{ waitFor: failNow }, { exit: 1, result: 'error', message: 'resource contention' }], finishes(`${id}.txt`)] })}`;
    for (const id of ['s1', 's2', 's3'])
      files[`prompts/${id}.md`] = `# ${id}\n${agentScript({ steps: [{ waitFor: succeedNow }, ...finishes(`${id}.txt`)] })}`;
    files['prompts/after-f1.md'] = `# after f1\nThis depends on f1.\n${agentScript({ steps: finishes('after.txt') })}`;
    await writeFiles(repo, files);
    const env = fakeAgentEnv(state, { ORCH_SAMPLER_FILE: await roomyMachine(state) });
    const orch = startOrch(['run', 'prompts/*.md', '--max-parallel', '3', '--retries', '0'], { cwd: repo, env });
    // The three fail together, while no success comes between them to reset the count.
    await waitFor(async () => (await agentStarts(state)).length === 3, 20_000, 'f1, f2 and f3 to start');
    await writeFile(failNow, '');
    await waitFor(async () => (await readLedger(repo)).some((event) => event.type === 'mode'), 20_000, 'the switch to one task at a time');
    await writeFile(succeedNow, '');
    const result = await orch;
    expect(result.exitCode).toBe(0);

    const ledger = await readLedger(repo);
    const switched = ledger.find((event) => event.type === 'mode');
    expect(switched).toMatchObject({ mode: 'sequential', reason: '3 tasks failed in a row while running in parallel' });
    const intervals = runIntervals(ledger);
    expect(maxConcurrency(intervals.filter((interval) => interval.start < switched!.seq))).toBeGreaterThan(1);
    const afterSwitch = intervals.filter((interval) => interval.start > switched!.seq);
    for (const a of afterSwitch) for (const b of afterSwitch) if (a !== b) expect(overlaps(a, b)).toBe(false);

    const registry = await readRunRegistry(repo);
    expect(registry.run).toMatchObject({ mode: 'sequential', modeReason: '3 tasks failed in a row while running in parallel' });
    for (const id of ['f1', 'f2', 'f3']) {
      const task = registry.tasks.find((candidate) => candidate.id === id)!;
      expect(task).toMatchObject({ status: 'succeeded', succeededInFallback: true, failedInParallel: true });
      expect(task.attemptLog.map((attempt) => attempt.kind)).toEqual(['fresh', 'fallback']);
    }
    // The dependent skipped by f1's failure came back and ran.
    expect(registry.tasks.find((task) => task.id === 'after-f1')!.status).toBe('succeeded');
    expect(String(result.stdout)).toContain('only succeeded in the sequential fallback: f1, f2, f3');
  });

  it('--no-fallback leaves failures failed, and never switches to one task at a time', async () => {
    const repo = await tempRepo();
    const state = await agentState();
    const go = path.join(state, 'go');
    const fails = agentScript({ runs: [[{ waitFor: go }, { exit: 1, result: 'error', message: 'nope' }], finishes('x.txt')] });
    await writeFiles(repo, {
      'prompts/a.md': `# a\n${fails}`,
      'prompts/b.md': `# b\n${fails}`,
      'prompts/c.md': `# c\n${fails}`,
      'prompts/d.md': `# d\n${agentScript({ steps: [{ waitFor: go }, ...finishes('d.txt')] })}`,
      '.gadugi/config.json': JSON.stringify({ fallback: { failureThreshold: 2 } }),
    });
    const env = fakeAgentEnv(state, { ORCH_SAMPLER_FILE: await roomyMachine(state) });
    const orch = startOrch(['run', 'prompts/*.md', '--retries', '0', '--no-fallback'], { cwd: repo, env });
    // All four run side by side before any of them ends.
    await waitFor(async () => (await agentStarts(state)).length === 4, 20_000, 'four agents to start');
    await writeFile(go, '');
    expect((await orch).exitCode).toBe(1);
    const registry = await readRunRegistry(repo);
    expect(registry.tasks.map((task) => task.status)).toEqual(['failed', 'failed', 'failed', 'succeeded']);
    expect(registry.tasks[0]).toMatchObject({ failedInParallel: true });
    expect(registry.run.mode).toBe('parallel');
    expect((await readLedger(repo)).some((event) => event.type === 'mode')).toBe(false);
    expect(await agentStarts(state)).toHaveLength(4);
  });
});

describe('concurrency that follows the machine', () => {
  it('starts no new agent while memory is below the reserve, and more once it is back', async () => {
    const repo = await tempRepo();
    const files: Record<string, string> = { ...config({ concurrency: { sampleInterval: '300ms' } }) };
    const state = await agentState();
    const gates = Array.from({ length: 6 }, (_, index) => path.join(state, `t${index + 1}-may-finish`));
    gates.forEach((gate, index) => {
      files[`prompts/t${index + 1}.md`] =
        `# t${index + 1}\n${agentScript({ steps: [{ waitFor: gate }, ...finishes(`t${index + 1}.txt`)] })}`;
    });
    await writeFiles(repo, files);
    const sample = await roomyMachine(state, { cores: 8, availableMemMb: 600, loadPerCore: 0 });
    const orch = startOrch(['run', 'prompts/*.md'], { cwd: repo, env: fakeAgentEnv(state, { ORCH_SAMPLER_FILE: sample }) });
    // Below the memory reserve: one at a time. t1, then (once it ends) t2.
    await waitFor(async () => (await agentStarts(state)).length === 1, 30_000, 't1 to start');
    await writeFile(gates[0]!, '');
    await waitFor(async () => (await agentStarts(state)).length === 2, 30_000, 't2 to start');
    // Memory is back: the rest start side by side while t2 still runs.
    await writeFile(sample, JSON.stringify({ cores: 8, availableMemMb: 64_000, loadPerCore: 0 }));
    await waitFor(async () => (await agentStarts(state)).length === 6, 30_000, 'the rest to start');
    for (const gate of gates.slice(1)) await writeFile(gate, '');
    expect((await orch).exitCode).toBe(0);

    const ledger = await readLedger(repo);
    const low = ledger.find((event) => event.type === 'limit' && event.reason === 'memory')!;
    expect(low).toMatchObject({ limit: 1 });
    const recovered = ledger.find((event) => event.type === 'limit' && event.seq > low.seq && event.reason === 'cores')!;
    expect(recovered).toMatchObject({ limit: 16 });
    // The limit counts agents: t1 and t2's ran one after the other, the rest side by side.
    const agents = await agentIntervals(state);
    const startOf = (id: string): number => agents.find((agent) => agent.taskId === id)!.start;
    expect(maxConcurrency(agents.filter((agent) => agent.taskId === 't1' || agent.taskId === 't2'))).toBe(1);
    expect(startOf('t2')).toBeGreaterThanOrEqual(agents.find((agent) => agent.taskId === 't1')!.end);
    expect(maxConcurrency(agents.filter((agent) => agent.start >= startOf('t2')))).toBeGreaterThan(1);
    expect(JSON.parse((await runOrch(['status', '--json'], { cwd: repo })).stdout).run.limit).toEqual({ value: 16, reason: 'cores' });
  });
});

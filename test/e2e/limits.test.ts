import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentScript, agentStarts, agentState, fakeAgentEnv, finishes, roomyMachine } from '../support/agents.js';
import { tempRepo } from '../support/git.js';
import { runOrch } from '../support/orch.js';
import { onlyRunId, readLedger, readRunRegistry } from '../support/run-state.js';
import { startOrch, waitFor } from '../support/spawn.js';
import { writeFiles } from '../support/tmp.js';

/** The fake agent refused by a plan's usage limit, as the real CLI reports it with a subscription login. */
const refused = (resetsInMs: number, limitType = 'five_hour') => [
  { rateLimit: 'rejected', resetsInMs, limitType },
  {
    exit: 1,
    result: 'error',
    message: "You've hit your 5-hour limit · resets 4pm (UTC)",
    apiErrorStatus: 429,
    apiError: 'usage_limit_reached',
  },
];

describe('usage limits with the scripted fake agent', () => {
  it('waits for the reset (no backoff), requeues without a failure, shows it in status, and goes on by itself', async () => {
    const state = await agentState();
    const repo = await tempRepo();
    await writeFiles(repo, {
      'prompts/limited.md': `---\npriority: 1\n---\n# Limited\n${agentScript({ runs: [refused(3_000), finishes('limited.txt')] })}`,
      'prompts/next.md': `# Next\n${agentScript({ steps: finishes('next.txt') })}`,
    });
    const env = fakeAgentEnv(state);
    const orch = startOrch(['run', 'prompts/*.md', '--max-parallel', '1', '--retries', '0'], { cwd: repo, env });
    await waitFor(async () => (await readRunRegistry(repo)).run.usageLimit?.pausedUntil, 20_000, 'the usage-limit pause');
    const status = await runOrch(['status'], { cwd: repo, env });
    expect(status.stdout).toMatch(/usage limit \(five_hour\): resumes at (?:[A-Z][a-z]{2} \d{1,2} )?\d\d:\d\d/);
    expect(status.stdout).toMatch(/next +pending .*usage limit: resumes at (?:[A-Z][a-z]{2} \d{1,2} )?\d\d:\d\d/);
    expect(status.stdout).toMatch(/limit 1 \(usage-limit\)/);
    const result = await orch;
    expect(result.exitCode).toBe(0);

    const registry = await readRunRegistry(repo);
    expect(registry.run.status).toBe('succeeded');
    expect(registry.run.usageLimit).toBeUndefined();
    expect(registry.tasks.find((task) => task.id === 'limited')).toMatchObject({ attempts: 2, retriesUsed: 0, apiRequeues: 0 });
    const ledger = await readLedger(repo);
    const pause = ledger.find((event) => event.type === 'usage-limit');
    expect(pause).toMatchObject({ status: 'rejected', action: 'pause', limitType: 'five_hour' });
    expect(ledger.some((event) => event.type === 'api-pressure')).toBe(false);
    expect(ledger.some((event) => event.type === 'task-status' && event.status === 'failed')).toBe(false);
    // Nothing started before the reset.
    const starts = await agentStarts(state);
    expect(starts.map((start) => start.taskId)).toEqual(['limited', 'limited', 'next']);
    const secondStart = starts.slice(1).map((start) => Date.parse(start.at));
    const resetsAt = Date.parse((pause as { resetsAt: string }).resetsAt);
    for (const at of secondStart) expect(at).toBeGreaterThanOrEqual(resetsAt);
    expect(result.stdout).toMatch(
      /usage limit reached \(five_hour\): no new agents until it resets at (?:[A-Z][a-z]{2} \d{1,2} )?\d\d:\d\d/,
    );
  });

  it('a reset beyond --max-wait lets running tasks finish and stops the run: exit 75, resumable, said once', async () => {
    const state = await agentState();
    const gate = path.join(state, 'gate');
    const repo = await tempRepo();
    await writeFiles(repo, {
      'prompts/limited.md': `# Limited\n${agentScript({ steps: refused(3 * 3_600_000, 'seven_day') })}`,
      'prompts/running.md': `# Running\n${agentScript({ steps: [{ waitFor: gate }, ...finishes('running.txt')] })}`,
      'prompts/later.md': `---\ndepends_on: [running]\n---\n# Later\n${agentScript({ steps: finishes('later.txt') })}`,
    });
    const env = fakeAgentEnv(state);
    const roomy = { ...env, ORCH_SAMPLER_FILE: await roomyMachine(state) };
    const orch = startOrch(['run', 'prompts/*.md', '--max-parallel', '2', '--max-wait', '1h'], { cwd: repo, env: roomy });
    await waitFor(async () => (await readRunRegistry(repo)).run.halted, 20_000, 'the run to stop admitting tasks');
    await writeFile(gate, '');
    const result = await orch;
    expect(result.exitCode).toBe(75);
    const runId = await onlyRunId(repo);
    expect(result.stderr).toMatch(
      new RegExp(
        `^orch: the seven_day usage limit resets at \\S+, in (2h59m|3h00m), later than --max-wait \\(1h00m\\): no new task starts; \`orch resume ${runId}\` continues after the reset$`,
      ),
    );
    expect(result.stdout).toContain('run paused (exit 75)');
    expect(result.stdout).toMatch(
      /usage limit reached \(seven_day\): it resets at .+, beyond --max-wait; running tasks finish, then the run stops/,
    );
    const registry = await readRunRegistry(repo);
    expect(registry.run).toMatchObject({ status: 'paused', exitCode: 75, halted: { kind: 'usage-limit' } });
    expect(Object.fromEntries(registry.tasks.map((task) => [task.id, task.status]))).toEqual({
      limited: 'pending',
      running: 'succeeded',
      later: 'pending',
    });
    expect(registry.tasks.find((task) => task.id === 'later')?.waiting).toMatchObject({
      kind: 'usage-limit',
      stopped: true,
      limitType: 'seven_day',
    });
    const status = await runOrch(['status'], { cwd: repo, env });
    expect(status.stdout).toMatch(/later +pending .*usage limit: resets at .*, beyond --max-wait/);
    const waited = await runOrch(['wait'], { cwd: repo, env });
    expect(waited).toMatchObject({ exitCode: 75 });
    expect(waited.stdout).toMatch(/^run \S+ paused \(exit 75\): 2 pending, 1 succeeded$/);
    expect(waited.stderr).toMatch(/^orch: the seven_day usage limit resets at /);
  });
});

describe('the run’s budget', () => {
  it('caps each agent by what is left, stops admitting once spent (exit 75, reason budget), and resume --max-cost continues', async () => {
    const state = await agentState();
    const repo = await tempRepo();
    const costs = (usd: number, file: string) => agentScript({ steps: [{ cost: usd }, ...finishes(file)] });
    await writeFiles(repo, {
      'prompts/a.md': `---\npriority: 3\n---\n# A\n${costs(0.3, 'a.txt')}`,
      'prompts/b.md': `---\npriority: 2\n---\n# B\n${costs(0.3, 'b.txt')}`,
      'prompts/c.md': `# C\n${costs(0.1, 'c.txt')}`,
    });
    const env = fakeAgentEnv(state);
    const first = await runOrch(['run', 'prompts/*.md', '--max-parallel', '1', '--max-cost', '$0.50'], { cwd: repo, env });
    expect(first.exitCode).toBe(75);
    const runId = await onlyRunId(repo);
    expect(first.stderr).toBe(
      `orch: the budget of $0.50 is reached ($0.6000 recorded): no new task starts; \`orch resume ${runId} --max-cost <more>\` continues`,
    );
    expect(first.stdout).toContain('budget reached: $0.6000 of $0.50; no new task starts, running ones finish');
    const budgets = (await agentStarts(state)).map((start) => [start.taskId, start.args[start.args.indexOf('--max-budget-usd') + 1]]);
    expect(budgets).toEqual([
      ['a', '0.5'],
      ['b', '0.2'],
    ]);
    const registry = await readRunRegistry(repo);
    expect(registry.tasks.map((task) => [task.id, task.status, task.reason ?? ''])).toEqual([
      ['a', 'succeeded', ''],
      ['b', 'pending', 'budget'],
      ['c', 'pending', ''],
    ]);
    expect(registry.tasks[2]!.waiting).toEqual({ kind: 'budget', maxCostUsd: 0.5, costUsd: 0.6 });
    const status = await runOrch(['status'], { cwd: repo, env });
    expect(status.stdout).toContain('budget $0.6000 of $0.50');
    expect(status.stdout).toMatch(/c +pending .*budget \(\$0\.6000 of \$0\.50 spent\)/);

    const more = await runOrch(['resume', '--max-cost', '2'], { cwd: repo, env });
    expect(more.exitCode).toBe(0);
    const after = await readRunRegistry(repo);
    expect(after.tasks.map((task) => task.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(after.run.halted).toBeUndefined();
    expect((await agentStarts(state)).slice(2).map((start) => start.args[start.args.indexOf('--max-budget-usd') + 1])).toEqual([
      '1.4',
      '1.1',
    ]);
  });

  it('refuses a budget that is not a positive amount: one line, exit 2, nothing written', async () => {
    const repo = await tempRepo();
    await writeFiles(repo, { 'prompts/a.md': '# A\n' });
    const result = await runOrch(['run', 'prompts/a.md', '--max-cost', 'lots'], { cwd: repo, env: fakeAgentEnv(await agentState()) });
    expect(result).toMatchObject({ exitCode: 2, stdout: '' });
    expect(result.stderr).toMatch(
      /^orch: invalid config value for "budget\.maxCostUsd" \(from --max-cost\): expected number, received string; fix --max-cost\.$/,
    );
    const wait = await runOrch(['run', 'prompts/a.md', '--max-wait', 'forever'], { cwd: repo, env: fakeAgentEnv(await agentState()) });
    expect(wait.stderr).toMatch(
      /^orch: invalid config value for "api\.maxWait" \(from --max-wait\): must be a duration such as 90s, 20m or 2h/,
    );
    await expect(readdir(path.join(repo, '.gadugi', 'runs'))).rejects.toThrow();
  });
});

describe('notification hooks', () => {
  it('run without a shell with JSON on stdin and ORCH_ variables; a failing or slow hook is a warning, never a different result', async () => {
    const state = await agentState();
    const repo = await tempRepo();
    const calls = path.join(state, 'calls');
    const hook = path.join(state, 'hook.mjs');
    await writeFile(
      hook,
      `import { appendFileSync, readFileSync } from 'node:fs';
const input = JSON.parse(readFileSync(0, 'utf8'));
appendFileSync(${JSON.stringify(calls)}, JSON.stringify({ argv: process.argv.slice(2), input, env: { task: process.env.ORCH_TASK_ID ?? null, status: process.env.ORCH_STATUS, run: process.env.ORCH_RUN_ID } }) + '\\n');
console.log('hook saw', input.event, input.taskId ?? '');
if (input.taskId === 'b') process.exit(3);
if (input.taskId === 'c') setTimeout(() => {}, 60_000);
`,
    );
    await writeFiles(repo, {
      'prompts/a.md': `# A\n${agentScript({ steps: [{ cost: 0.2 }, ...finishes('a.txt')] })}`,
      'prompts/b.md': `# B\n${agentScript({ steps: finishes('b.txt') })}`,
      'prompts/c.md': `# C\n${agentScript({ steps: [{ exit: 1, message: 'tests failed' }] })}`,
      '.gadugi/config.json': JSON.stringify({
        retries: { count: 0 },
        fallback: { enabled: false },
        hooks: {
          onTaskEnd: [process.execPath, hook, 'task', '$HOME; echo not a shell'],
          onRunEnd: [process.execPath, hook, 'run'],
          timeout: '1s',
        },
      }),
    });
    const result = await runOrch(['run', 'prompts/*.md'], { cwd: repo, env: fakeAgentEnv(state) });
    expect(result.exitCode).toBe(1);
    const runId = await onlyRunId(repo);
    const seen = (await readFile(calls, 'utf8'))
      .trim()
      .split('\n')
      .map(
        (line) =>
          JSON.parse(line) as {
            argv: string[];
            input: Record<string, unknown> & { event: string; taskId?: string; status: string };
            env: Record<string, string | null>;
          },
      );
    expect(seen.map((call) => `${call.input.event} ${call.input.taskId ?? ''} ${call.input.status}`).sort()).toEqual([
      'run-end  failed',
      'task-end a succeeded',
      'task-end b succeeded',
      'task-end c failed',
    ]);
    const a = seen.find((call) => call.input.taskId === 'a')!;
    expect(a.argv).toEqual(['task', '$HOME; echo not a shell']);
    expect(a.input).toMatchObject({ runId, status: 'succeeded', branch: `orch/${runId}/a`, costUsd: 0.2, commits: 1, reason: null });
    expect(a.env).toEqual({ task: 'a', status: 'succeeded', run: runId });
    expect(seen.find((call) => call.input.taskId === 'c')!.input).toMatchObject({ status: 'failed', reason: 'tests failed' });
    expect(seen.find((call) => call.input.event === 'run-end')!.input).toMatchObject({
      status: 'failed',
      exitCode: 1,
      counts: { succeeded: 2, failed: 1 },
    });

    const warnings = (await readLedger(repo)).flatMap((event) => (event.type === 'warning' ? [event.message] : []));
    expect(warnings.sort()).toEqual([
      'hook onTaskEnd for task b exited 3 (see logs/hooks.log)',
      'hook onTaskEnd for task c ran past hooks.timeout (1.0s) and was stopped (see logs/hooks.log)',
    ]);
    expect(result.stdout).toContain('! hook onTaskEnd for task b exited 3 (see logs/hooks.log)');
    const log = await readFile(path.join(repo, '.gadugi', 'runs', runId, 'logs', 'hooks.log'), 'utf8');
    expect(log).toContain('hook saw task-end b');
    expect(log).toMatch(/== \S+ onRunEnd \(failed\)/);
    expect((await readRunRegistry(repo)).run.status).toBe('failed');
  });

  it('a hook that cannot start is a warning on stderr, and the run’s result stands', async () => {
    const repo = await tempRepo();
    await writeFiles(repo, {
      'prompts/a.md': '# A\n',
      '.gadugi/config.json': JSON.stringify({ hooks: { onRunEnd: ['orch-test-no-such-notifier', 'done'] } }),
    });
    const result = await runOrch(['run', 'prompts/a.md'], { cwd: repo, env: fakeAgentEnv(await agentState()) });
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toBe('orch: warning: hook onRunEnd failed: cannot start orch-test-no-such-notifier: ENOENT');
    expect((await readRunRegistry(repo)).run.status).toBe('succeeded');
  });
});

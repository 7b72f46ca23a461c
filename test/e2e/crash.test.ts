import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readProcessInfo } from '../../src/process/process-info.js';
import { agentScript, agentStarts, agentState, fakeAgentEnv, finishes, processesWithEnv, roomyMachine } from '../support/agents.js';
import { git, tempRepo } from '../support/git.js';
import { runOrch } from '../support/orch.js';
import { readLedger, readRunRegistry } from '../support/run-state.js';
import { startOrch, startOrchWithRunningAgent, waitFor } from '../support/spawn.js';
import { writeFiles } from '../support/tmp.js';

describe('signals and crashes', () => {
  it('Ctrl-C stops every agent, marks them interrupted, exits 130; resume finishes the run', async () => {
    const repo = await tempRepo();
    // First start: work a little, then hang (one even ignores SIGTERM). Any later start finishes.
    const slow = (file: string, hang: true | 'ignore-term') =>
      agentScript({ runs: [[{ write: file, content: 'partial\n' }, { hang }], finishes(file)] });
    await writeFiles(repo, {
      'prompts/a.md': `# A\n${slow('a.txt', true)}`,
      'prompts/b.md': `# B\n${slow('b.txt', 'ignore-term')}`,
      'prompts/c.md': `# C\nThis depends on a.\n${agentScript({ steps: finishes('c.txt') })}`,
    });
    const state = await agentState();
    // Several agents at once, whatever the load of the machine running the tests.
    const env = fakeAgentEnv(state, { ORCH_SAMPLER_FILE: await roomyMachine(state) });
    const orch = startOrch(['run', 'prompts/*.md', '--max-parallel', '2'], { cwd: repo, env });
    await waitFor(async () => (await agentStarts(state)).length === 2, 20_000, 'two agents to start');
    await waitFor(
      async () => (await readRunRegistry(repo)).tasks.filter((task) => task.agent).length === 2,
      20_000,
      'pids in the registry',
    );
    orch.kill('SIGINT');
    const result = await orch;
    expect(result.exitCode).toBe(130);

    // orch exits only once its agents are gone, and none outlives the grace period (5 s), not
    // even the one ignoring SIGTERM: measured by orch's own ledger, from the moment Ctrl-C reached it.
    expect(await processesWithEnv(`FAKE_CLAUDE_STATE=${state}`)).toEqual([]);
    const ledger = await readLedger(repo);
    const stopping = ledger.find((event) => event.type === 'stopping')!;
    expect(stopping).toMatchObject({ reason: 'interrupt', running: 2 });
    for (const id of ['a', 'b']) {
      const interrupted = ledger.find((event) => event.type === 'task-status' && event.taskId === id && event.status === 'interrupted')!;
      expect(interrupted.seq).toBeGreaterThan(stopping.seq);
      expect(Date.parse(interrupted.at) - Date.parse(stopping.at)).toBeLessThan(5_000 + 2_000);
    }
    const registry = await readRunRegistry(repo);
    expect(Object.fromEntries(registry.tasks.map((task) => [task.id, task.status]))).toEqual({
      a: 'interrupted',
      b: 'interrupted',
      c: 'pending',
    });
    expect(registry.run).toMatchObject({ status: 'interrupted', exitCode: 130 });
    // An interrupted agent's work stays in its worktree, uncommitted, for resume to continue.
    expect(await git(registry.tasks[0]!.worktree, 'status', '--porcelain')).toContain('a.txt');

    const resumed = await runOrch(['resume'], { cwd: repo, env });
    expect(resumed.stderr).toBe('');
    expect(resumed.exitCode).toBe(0);
    const after = await readRunRegistry(repo);
    expect(after.tasks.map((task) => task.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    // Interrupted tasks continued their Claude sessions.
    const starts = await agentStarts(state);
    const resumedStarts = starts.filter((start) => start.start === 2);
    expect(resumedStarts.map((start) => start.taskId).sort()).toEqual(['a', 'b']);
    for (const start of resumedStarts) expect(start.resume).toBe(registry.tasks.find((task) => task.id === start.taskId)!.sessionId);
    expect(after.run.sessions).toHaveLength(2);
    expect(await git(repo, 'show', `${after.tasks[0]!.branch}:a.txt`)).toBe('a.txt');
  });

  it('kill -9 leaves agents working; status shows stale and orphaned; resume adopts live agents and re-runs dead ones, never twice', async () => {
    const repo = await tempRepo();
    const state = await agentState();
    const adoptGate = path.join(state, 'adopt-may-finish');
    const aloneGate = path.join(state, 'alone-may-finish');
    await writeFiles(repo, {
      // Finishes only after resume has taken it over: must be adopted, not restarted.
      'prompts/adopt.md': `---\nfiles: [adopt.txt]\n---\n# Adopt\n${agentScript({ steps: [{ waitFor: adoptGate }, ...finishes('adopt.txt')] })}`,
      // Hangs on its first start; the test kills it after orch: must be re-run, once.
      'prompts/dies.md': `# Dies\n${agentScript({ runs: [[{ hang: true }], finishes('dies.txt')] })}`,
      // Finishes by itself while no orchestrator is watching: its result must be collected, not re-run.
      'prompts/alone.md': `# Alone\n${agentScript({ steps: [{ waitFor: aloneGate }, ...finishes('alone.txt')] })}`,
      // Conflicts with adopt, so it was not started before the crash: runs normally on resume.
      'prompts/later.md': `---\nfiles: [adopt.txt]\n---\n# Later\n${agentScript({ steps: finishes('later.txt') })}`,
    });
    // Several agents at once, whatever the load of the machine running the tests.
    const env = fakeAgentEnv(state, { ORCH_SAMPLER_FILE: await roomyMachine(state) });
    const orch = startOrch(['run', 'prompts/adopt.md', 'prompts/dies.md', 'prompts/alone.md', 'prompts/later.md', '--max-parallel', '3'], {
      cwd: repo,
      env,
    });
    const running = await waitFor(
      async () => {
        const registry = await readRunRegistry(repo);
        return registry.tasks.filter((task) => task.agent).length === 3 ? registry : undefined;
      },
      20_000,
      'three agents to be recorded',
    );
    orch.kill('SIGKILL');
    await orch;
    const killedAt = Date.now();
    await writeFile(aloneGate, '');
    const alone = running.tasks.find((task) => task.id === 'alone')!;
    await waitFor(
      async () =>
        (await readFile(path.join(repo, '.gadugi', 'runs', running.run.id, alone.attemptLog[0]!.log), 'utf8')).includes('"type":"result"'),
      10_000,
      'the lone agent to finish',
    );

    const status = await runOrch(['status', '--json'], { cwd: repo });
    expect(status.exitCode).toBe(0);
    const view = JSON.parse(status.stdout) as {
      run: { liveness: string; orchestratorAlive: boolean };
      tasks: Array<{ id: string; liveness?: string; status: string }>;
    };
    expect(view.run).toMatchObject({ liveness: 'stale', orchestratorAlive: false });
    expect(view.tasks.find((task) => task.id === 'adopt')!.liveness).toBe('orphaned');
    expect(view.tasks.find((task) => task.id === 'dies')!.liveness).toBe('orphaned');
    expect(view.tasks.find((task) => task.id === 'later')!.status).toBe('pending');

    // The hanging agent dies (say, the machine's OOM killer): status sees it dead.
    const dies = running.tasks.find((task) => task.id === 'dies')!;
    process.kill(-dies.agent!.pid, 'SIGKILL');
    await waitFor(() => readProcessInfo(dies.agent!.pid)?.state !== 'S' || undefined, 5_000, 'the agent to die');
    const afterDeath = JSON.parse((await runOrch(['status', '--json'], { cwd: repo })).stdout) as typeof view;
    expect(afterDeath.tasks.find((task) => task.id === 'dies')!.liveness).toBe('dead');

    const resuming = startOrch(['resume'], { cwd: repo, env });
    // Once the resumed run has started, its plan is made: let the adopted agent finish.
    await waitFor(
      async () => (await readLedger(repo)).some((event) => event.type === 'run-started' && event.resumed),
      20_000,
      'the resume to start',
    );
    await writeFile(adoptGate, '');
    const resumed = await resuming;
    expect(resumed.exitCode).toBe(0);
    const registry = await readRunRegistry(repo);
    expect(registry.tasks.map((task) => [task.id, task.status])).toEqual([
      ['adopt', 'succeeded'],
      ['dies', 'succeeded'],
      ['alone', 'succeeded'],
      ['later', 'succeeded'],
    ]);
    const starts = await agentStarts(state);
    const count = (id: string) => starts.filter((start) => start.taskId === id).length;
    expect({ adopt: count('adopt'), dies: count('dies'), alone: count('alone'), later: count('later') }).toEqual({
      adopt: 1,
      dies: 2,
      alone: 1,
      later: 1,
    });
    expect(registry.tasks.find((task) => task.id === 'alone')!.commits.map((commit) => commit.subject)).toEqual(['add alone.txt']);
    // The adopted agent's outcome was read from its own stream, and its commit recorded.
    const adopt = registry.tasks.find((task) => task.id === 'adopt')!;
    expect(adopt.commits.map((commit) => commit.subject)).toEqual(['add adopt.txt']);
    expect(adopt.attempts).toBe(1);
    expect((await readLedger(repo)).filter((event) => event.type === 'run-started')).toHaveLength(2);

    // Wall time: the killed session counts up to the last moment it was alive (its last write),
    // not up to "now", so it never overlaps the resume, and the time nobody drove the run is not in it.
    const [killed, resumedSession] = registry.run.sessions;
    expect(killed!.finishedAt).toBeUndefined();
    const killedLastAlive = Date.parse(killed!.lastAliveAt!);
    expect(killedLastAlive).toBeLessThanOrEqual(killedAt);
    expect(killedLastAlive).toBeGreaterThanOrEqual(Date.parse(running.run.heartbeatAt));
    const span = (from: string, to: string) => Date.parse(to) - Date.parse(from);
    const finished = (await readLedger(repo)).find((event) => event.type === 'run-finished')!;
    expect(finished.type === 'run-finished' && finished.summary.wallMs).toBe(
      span(killed!.startedAt, killed!.lastAliveAt!) + span(resumedSession!.startedAt, resumedSession!.finishedAt!),
    );
    expect(Date.parse(resumedSession!.startedAt)).toBeGreaterThan(killedLastAlive);
  });

  it('a second Ctrl-C kills at once instead of waiting out the grace period', async () => {
    const repo = await tempRepo();
    await writeFiles(repo, {
      // A grace period far longer than this test may take, and an agent that ignores SIGTERM.
      '.gadugi/config.json': JSON.stringify({ timeouts: { killGrace: '10m' } }),
      'prompts/a.md': `# A\n${agentScript({ steps: [{ spawnChild: true }, { hang: 'ignore-term' }] })}`,
    });
    const state = await agentState();
    const { orch } = await startOrchWithRunningAgent(repo, ['run', 'prompts/a.md'], state);
    const grandchild = await waitFor(
      async () => (JSON.parse((await readFile(path.join(state, 'children.ndjson'), 'utf8')).split('\n')[0]!) as { pid: number }).pid,
      20_000,
      'the grandchild',
    );
    orch.kill('SIGINT');
    // Signals sent back to back can merge into one: send the second once the first has acted
    // (the group's SIGTERM ended the grandchild; the agent itself ignores it).
    await waitFor(
      () => {
        const info = readProcessInfo(grandchild);
        return info === undefined || info.state === 'Z';
      },
      20_000,
      'the first Ctrl-C to act',
    );
    orch.kill('SIGINT');
    expect((await orch).exitCode).toBe(130);
    expect(await processesWithEnv(`FAKE_CLAUDE_STATE=${state}`)).toEqual([]);
    expect((await readRunRegistry(repo)).tasks[0]!.status).toBe('interrupted');
  });

  it('starts afresh when the interrupted Claude session cannot be resumed', async () => {
    const repo = await tempRepo();
    await writeFiles(repo, {
      'prompts/a.md': `# A\n${agentScript({ runs: [[{ write: 'a.txt', content: 'partial\n' }, { hang: true }], finishes('a.txt')] })}`,
    });
    const state = await agentState();
    const env = fakeAgentEnv(state);
    const orch = startOrch(['run', 'prompts/a.md'], { cwd: repo, env });
    await waitFor(async () => (await readRunRegistry(repo)).tasks[0]!.sessionId, 20_000, 'a session id');
    orch.kill('SIGINT');
    expect((await orch).exitCode).toBe(130);
    // The CLI forgot its sessions (another machine, a wiped config directory).
    await rm(path.join(state, 'sessions.txt'));
    const resumed = await runOrch(['resume', '--json'], { cwd: repo, env });
    expect(resumed.exitCode).toBe(0);
    const starts = await agentStarts(state);
    expect(starts.map((start) => start.resume === null)).toEqual([true, false, true]);
    const task = (await readRunRegistry(repo)).tasks[0]!;
    expect(task).toMatchObject({ status: 'succeeded', retriesUsed: 0 });
    expect(task.attemptLog.map((attempt) => [attempt.kind, attempt.outcome])).toEqual([
      ['fresh', 'interrupted'],
      ['resume', 'requeued'],
      ['resume', 'succeeded'],
    ]);
  });

  it('refuses to resume a run whose orchestrator is alive', async () => {
    const repo = await tempRepo();
    await writeFiles(repo, { 'prompts/a.md': `# A\n${agentScript({ steps: [{ hang: true }] })}` });
    const state = await agentState();
    const { orch } = await startOrchWithRunningAgent(repo, ['run', 'prompts/a.md'], state);
    const resumed = await runOrch(['resume'], { cwd: repo, env: fakeAgentEnv(state) });
    expect(resumed.exitCode).toBe(2);
    expect(resumed.stderr).toMatch(/^orch: run \S+ is still running \(orch pid \d+ is alive\)/);
    expect(await agentStarts(state)).toHaveLength(1);
    orch.kill('SIGTERM');
    const stopped = await orch;
    expect(stopped.exitCode).toBe(130);
    // orch exits by itself once its agents are gone (a leaked grace timer would keep it alive
    // until execa's own SIGKILL).
    expect(stopped.signal).toBeUndefined();
  });

  it('reports a corrupted or truncated registry by name, and leaves it as it was', async () => {
    const repo = await tempRepo();
    await writeFiles(repo, { 'prompts/a.md': '# A\n' });
    const state = await agentState();
    expect((await runOrch(['run', 'prompts/a.md'], { cwd: repo, env: fakeAgentEnv(state) })).exitCode).toBe(0);
    const { writeFile } = await import('node:fs/promises');
    const registryPath = `${repo}/.gadugi/runs/${(await readRunRegistry(repo)).run.id}/registry.json`;
    const truncated = (await readFile(registryPath, 'utf8')).slice(0, 120);
    await writeFile(registryPath, truncated);
    for (const args of [['status'], ['resume'], ['status', '--json']]) {
      const result = await runOrch(args, { cwd: repo, env: fakeAgentEnv(state) });
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toContain(`the registry ${registryPath} is corrupted`);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(await readFile(registryPath, 'utf8')).toBe(truncated);
  });
});

import { existsSync } from 'node:fs';
import { chmod, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identify } from '../../src/process/process-info.js';
import { Workdir } from '../../src/worker/workdir.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { coordinatorEnv, repoWithRemote, startWorker } from '../support/workers.js';
import { agentScript, agentState, fakeAgentEnv, finishes, killStrays } from '../support/agents.js';
import { git, tempRepo } from '../support/git.js';
import { runOrch } from '../support/orch.js';
import { readLedger, readRunRegistry, runIds } from '../support/run-state.js';
import { startOrch, waitFor } from '../support/spawn.js';
import { tempDir, writeFiles } from '../support/tmp.js';

/**
 * An orch killed with -9 while it holds `.gadugi/git.lock`: a reference-transaction hook holds
 * git at the moment the first task's branch is created, which orch does under the lock (the
 * worktree's registration), then orch, that git and the hook are killed.
 */
async function killedHoldingTheLock(): Promise<{ repo: string; env: NodeJS.ProcessEnv; orchPid: number }> {
  const repo = await tempRepo({ 'README.md': '# r\n' });
  const state = await agentState();
  const armed = path.join(state, 'armed');
  const arrived = path.join(state, 'arrived');
  const hook = path.join(repo, '.git', 'hooks', 'reference-transaction');
  await writeFile(
    hook,
    `#!/bin/sh\nif [ "$1" = committed ] && [ -e "${armed}" ] && grep -q ' refs/heads/orch/'; then : > "${arrived}"; while :; do sleep 1; done; fi\ncat > /dev/null\nexit 0\n`,
  );
  await chmod(hook, 0o755);
  await writeFile(armed, '');
  await writeFiles(repo, {
    'prompts/a.md': `# A\n${agentScript({ steps: finishes('a.txt') })}`,
    'prompts/b.md': `# B\n${agentScript({ steps: finishes('b.txt') })}`,
  });
  const env = fakeAgentEnv(state);

  const orch = startOrch(['run', 'prompts/a.md'], { cwd: repo, env });
  await waitFor(() => existsSync(arrived) || undefined, 30_000, 'git to create the task branch under the lock');
  // The lock is held, and says by whom.
  const lock = path.join(repo, '.gadugi', 'git.lock');
  const [ownerFile, ...others] = await readdir(lock);
  expect(others).toEqual([]);
  expect(JSON.parse(await readFile(path.join(lock, ownerFile!), 'utf8'))).toMatchObject({ host: hostname(), pid: orch.pid });
  orch.kill('SIGKILL');
  await orch;
  // git and the hook it runs carry the test's environment: killed too.
  expect((await killStrays(state, 0)).length).toBeGreaterThan(0);
  await rm(armed);
  // Left as the killed orch held it.
  expect(await readdir(lock)).toEqual([ownerFile]);
  return { repo, env, orchPid: orch.pid! };
}

const broken = (orchPid: number): string => `removed .gadugi/git.lock: its holder (pid ${orchPid} on ${hostname()}) is gone`;

describe('the git lock of an orch killed with -9', () => {
  it('orch resume takes it over at once, because its holder is gone, and finishes the run', async () => {
    const { repo, env, orchPid } = await killedHoldingTheLock();
    const result = await runOrch(['resume'], { cwd: repo, env });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    // Taken over because its holder was dead, not because 15 s without a refresh had passed.
    expect(result.stdout).toContain(broken(orchPid));
    const ledger = await readLedger(repo);
    expect(ledger.filter((event) => event.type === 'warning').map((event) => event.message)).toContain(broken(orchPid));
    const registry = await readRunRegistry(repo);
    expect(registry.tasks.map((task) => task.status)).toEqual(['succeeded']);
    expect(await git(repo, 'show', `${registry.tasks[0]!.branch}:a.txt`)).toBe('a.txt');
    expect(existsSync(path.join(repo, '.gadugi', 'git.lock'))).toBe(false);
  });

  it('a second orch run in the same repository takes it over at once', async () => {
    const { repo, env, orchPid } = await killedHoldingTheLock();
    const [killed] = await runIds(repo);
    const result = await runOrch(['run', 'prompts/b.md'], { cwd: repo, env });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(broken(orchPid));
    const second = (await runIds(repo)).find((id) => id !== killed)!;
    const ledger = await readLedger(repo, second);
    expect(ledger.filter((event) => event.type === 'warning').map((event) => event.message)).toContain(broken(orchPid));
    expect((await readRunRegistry(repo, second)).tasks.map((task) => task.status)).toEqual(['succeeded']);
  });

  it('orch clean takes it over at once and lists it', async () => {
    const { repo, env, orchPid } = await killedHoldingTheLock();
    const result = await runOrch(['clean', '--all'], { cwd: repo, env });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(`git lock\n  lock .gadugi/git.lock removed: its holder (pid ${orchPid} on ${hostname()}) is gone`);
    expect(existsSync(path.join(repo, '.gadugi', 'git.lock'))).toBe(false);
  });
});

describe('the git lock of a worker’s clone, left by a worker killed holding it', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.close();
  });

  it('is taken over at once by the worker that comes back, which says so and runs the job', async () => {
    const { repo, remote } = await repoWithRemote({ 'README.md': '# r\n' });
    const state = await agentState();
    // What a worker killed in the middle of a git operation on its clone leaves: the lock, naming a process that is gone.
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    const dead = identify(sleeper.pid!)!;
    sleeper.kill('SIGKILL');
    await once(sleeper, 'exit');
    const workdir = await tempDir('orch-w-');
    const workspace = new Workdir(workdir);
    const lock = path.join(workspace.locks, path.basename(workspace.repo(remote)), 'git.lock');
    await mkdir(lock, { recursive: true });
    await writeFile(path.join(lock, 'killed.owner'), JSON.stringify({ host: hostname(), ...dead, since: '2026-11-22T12:00:00.000Z' }));

    const worker = await startWorker({ redisUrl: redis.url, name: 'w1', state, workdir, slots: 1 });
    await writeFiles(repo, { 'prompts/a.md': `# A\n${agentScript({ steps: finishes('a.txt') })}` });
    const run = await runOrch(['run', 'prompts/a.md'], { cwd: repo, env: coordinatorEnv(redis.url) });
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    expect(worker.output()).toContain(`removed ${lock}: its holder (pid ${dead.pid} on ${hostname()}) is gone`);
    expect((await readRunRegistry(repo)).tasks.map((task) => task.status)).toEqual(['succeeded']);
    expect(existsSync(lock)).toBe(false);
    await worker.stop();
  });
});

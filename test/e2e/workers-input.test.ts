import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentStarts, agentState } from '../support/agents.js';
import { expectOneLine } from '../support/expect.js';
import { tempRepo } from '../support/git.js';
import { runOrch } from '../support/orch.js';
import { freePort, startRedis, type RedisServer } from '../support/redis.js';
import { readRunRegistry } from '../support/run-state.js';
import { waitFor } from '../support/spawn.js';
import { tempDir } from '../support/tmp.js';
import { coordinatorEnv, repoWithRemote, startWorker } from '../support/workers.js';
import { queueNameFor } from '../../src/workers/remote.js';
import { QUEUE_PREFIX, REMOTES_KEY } from '../../src/workers/keys.js';
import { Redis } from 'ioredis';

const PASSWORD = 's3cret-Pa55';
let redis: RedisServer;

beforeAll(async () => {
  redis = await startRedis({ password: PASSWORD });
});

afterAll(async () => {
  await redis.close();
});

/** Every file under a folder, as text. */
async function allText(dir: string): Promise<string> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const texts = await Promise.all(
    entries.filter((entry) => entry.isFile()).map((entry) => readFile(path.join(entry.parentPath, entry.name), 'utf8').catch(() => '')),
  );
  return texts.join('\n');
}

async function nothingWritten(repo: string): Promise<void> {
  await expect(readdir(path.join(repo, '.gadugi'))).rejects.toThrow(/ENOENT/);
}

describe('run --workers and orch worker: bad input is one line, exit 2, nothing written, no password shown', () => {
  it('refuses a URL that is not a Redis URL, a Redis nobody listens on, and a wrong password', async () => {
    const { repo } = await repoWithRemote({ 'prompts/a.md': '# a\n' });
    const notRedis = await runOrch(['run', 'prompts', '--workers', 'http://127.0.0.1:6379'], { cwd: repo });
    expectOneLine(
      notRedis,
      /^orch: --workers "http:\/\/127\.0\.0\.1:6379" is not a Redis URL: it must start with redis:\/\/ \(or rediss:\/\/ for TLS\)\.$/,
    );
    const garbage = await runOrch(['run', 'prompts', '--workers', 'not a url'], { cwd: repo });
    expectOneLine(garbage, /is not a URL: give one like redis:\/\/host:6379/);

    const closed = await freePort();
    const nobody = await runOrch(['run', 'prompts'], { cwd: repo, env: coordinatorEnv(`redis://:${PASSWORD}@127.0.0.1:${closed}`) });
    expectOneLine(
      nobody,
      new RegExp(`^orch: cannot use Redis from --workers: nothing is listening at 127\\.0\\.0\\.1:${closed} \\(connection refused\\)\\.$`),
    );
    expect(nobody.stderr).not.toContain(PASSWORD);

    const wrong = await runOrch(['run', 'prompts'], {
      cwd: repo,
      env: coordinatorEnv(`redis://:wrong-${PASSWORD}@127.0.0.1:${redis.port}`),
    });
    expectOneLine(wrong, /refused the credentials in the URL/);
    expect(wrong.stderr).not.toContain(PASSWORD);
    await nothingWritten(repo);
  });

  it('refuses a repository without the remote, and a run no worker can take', async () => {
    const repo = await tempRepo({ 'prompts/a.md': '# a\n' });
    const noRemote = await runOrch(['run', 'prompts'], { cwd: repo, env: coordinatorEnv(redis.url) });
    expectOneLine(noRemote, /^orch: --remote origin: this repository has no remote of that name; add one the workers can reach/);
    const gone = await runOrch(['run', 'prompts', '--remote', '/nonexistent/remote.git'], { cwd: repo, env: coordinatorEnv(redis.url) });
    expectOneLine(
      gone,
      /^orch: cannot reach the remote \/nonexistent\/remote\.git: .*the workers need a remote that both sides can reach\.$/,
    );
    await nothingWritten(repo);

    const { repo: withRemote } = await repoWithRemote({ 'prompts/a.md': '# a\n' });
    const noWorker = await runOrch(['run', 'prompts'], { cwd: withRemote, env: coordinatorEnv(redis.url) });
    expectOneLine(
      noWorker,
      /^orch: no orch worker is connected to 127\.0\.0\.1:\d+: start one on each machine with `orch worker --connect <url>/,
    );
    expect(noWorker.stderr).not.toContain(PASSWORD);
    await nothingWritten(withRemote);
  });

  it('refuses a run whose remote the workers cannot reach (or do not allow)', async () => {
    const { repo, remote } = await repoWithRemote({ 'prompts/a.md': '# a\n' });
    const state = await agentState();
    // This worker's git may not use local paths: the remote is out of its reach.
    const blind = await startWorker({ redisUrl: redis.url, name: 'blind', state, env: { GIT_ALLOW_PROTOCOL: 'ssh' } });
    const result = await runOrch(['run', 'prompts'], { cwd: repo, env: coordinatorEnv(redis.url) });
    expectOneLine(result, new RegExp(`^orch: worker blind cannot use the remote: cannot reach ${remote}: transport 'file' not allowed`));
    await blind.stop();

    const other = await startWorker({ redisUrl: redis.url, name: 'other', state, allow: ['git@example.com:acme/*'] });
    const refused = await runOrch(['run', 'prompts'], { cwd: repo, env: coordinatorEnv(redis.url) });
    expectOneLine(
      refused,
      /^orch: none of the 1 live workers on 127\.0\.0\.1:\d+ allows .*remote\.git \(their --allow-remote: git@example\.com:acme\/\*\)\.$/,
    );
    await other.stop();
    await nothingWritten(repo);
  });

  it('orch worker refuses to start without --allow-remote, --workdir or a usable --slots', async () => {
    const cwd = await tempDir();
    const base = ['worker', '--connect', redis.url];
    expectOneLine(
      await runOrch([...base, '--workdir', cwd], { cwd }),
      /^orch: a worker runs only jobs of remotes it allows: pass --allow-remote <pattern>/,
    );
    expectOneLine(await runOrch([...base, '--allow-remote', '/x'], { cwd }), /^orch: --workdir is required/);
    expectOneLine(
      await runOrch([...base, '--workdir', cwd, '--allow-remote', '/x', '--slots', '0'], { cwd }),
      /^orch: --slots "0" must be "auto" or a number from 1 to 1000\.$/,
    );
    expectOneLine(
      await runOrch(['worker', '--workdir', cwd, '--allow-remote', '/x'], { cwd, env: { ORCH_WORKERS: '' } }),
      /^orch: no Redis to connect to: pass --connect/,
    );
    const ok = [...base, '--workdir', cwd, '--allow-remote', '/x'];
    expectOneLine(await runOrch([...ok, '--name', 'a b'], { cwd }), /^orch: --name "a b" may only hold letters, digits/);
    expectOneLine(
      await runOrch([...ok, '--stall-timeout', '10ms'], { cwd }),
      /^orch: --stall-timeout "10ms" must be a duration of at least 1s/,
    );
    expectOneLine(
      await runOrch([...ok, '--include-from', '/nonexistent'], { cwd }),
      /^orch: --include-from \/nonexistent is not a directory\.$/,
    );
    expectOneLine(
      await runOrch([...ok, '--claude-bin', '/nonexistent/claude'], { cwd }),
      /^orch: claude not found \("\/nonexistent\/claude"\): install Claude Code on this machine/,
    );

    // One worker per workdir.
    const state = await agentState();
    const first = await startWorker({ redisUrl: redis.url, name: 'first', state, workdir: cwd });
    expectOneLine(
      await runOrch([...ok, '--claude-bin', process.execPath], { cwd }),
      /^orch: \S+ is in use by another orch worker \(pid \d+\): give each worker its own --workdir\.$/,
    );
    await first.stop();
  });
});

describe('workers and secrets', () => {
  it('a run through a password-protected Redis never writes or prints the password; resume asks for it again', async () => {
    const { repo } = await repoWithRemote({ 'prompts/a.md': '# a\n' });
    const state = await agentState();
    const worker = await startWorker({ redisUrl: redis.url, name: 'w1', state });
    const run = await runOrch(['run', 'prompts', '--workers', redis.url], { cwd: repo });
    expect(run.exitCode).toBe(0);
    const registry = await readRunRegistry(repo);
    expect(registry.run.workers?.url).toBe(`redis://:***@127.0.0.1:${redis.port}`);
    const workers = await runOrch(['workers', '--connect', redis.url], { cwd: repo });
    expect(workers.stdout).toMatch(/1 live worker on 127\.0\.0\.1:\d+/);
    const status = await runOrch(['status'], { cwd: repo });
    for (const text of [
      run.stdout,
      run.stderr,
      workers.stdout,
      status.stdout,
      worker.output(),
      await allText(path.join(repo, '.gadugi')),
    ]) {
      expect(text).not.toContain(PASSWORD);
    }
    // The run's settings keep the URL without its password: a resume must be given it.
    const resume = await runOrch(['resume', '--retry-failed'], { cwd: repo });
    expectOneLine(
      resume,
      /^orch: this run's workers are at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+, and orch never stores the password: give the URL again with --workers or ORCH_WORKERS\.$/,
    );
    await worker.stop();
    expect(await allText(worker.workdir)).not.toContain(PASSWORD);
  });

  it('a worker validates every job: a malformed one, or one of a remote it does not allow, is refused and never runs', async () => {
    const { remote } = await repoWithRemote();
    const state = await agentState();
    const worker = await startWorker({ redisUrl: redis.url, name: 'w1', state, allow: [remote] });
    const queueName = queueNameFor(remote);
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue(queueName, { connection, prefix: QUEUE_PREFIX });
    try {
      await connection.hset(REMOTES_KEY, queueName, remote);
      await worker.waitForOutput(`taking jobs of ${remote}`);
      const valid = {
        version: 1,
        runId: '20261122-000000-abcd',
        remote,
        coordinator: 'test',
        task: { id: 'x', title: 'x', text: 'x', files: [], timeoutMs: 60_000 },
        attempt: { number: 1, kind: 'fresh' },
        base: { ref: 'main', sha: 'a'.repeat(40) },
        mergeFirst: [],
        settings: {
          permissionMode: 'acceptEdits',
          allowedTools: [],
          appendSystemPrompt: null,
          maxBudgetUsd: null,
          extraArgs: [],
          inactivityMs: 60_000,
          killGraceMs: 1000,
          setup: [],
          ports: 0,
          include: [],
          sandbox: 'auto',
          sandboxNetwork: [],
          disallowedTools: [],
        },
      };
      await queue.add('attempt', { ...valid, task: { ...valid.task, id: '../../etc' } }, { jobId: 'bad-id' });
      await queue.add('attempt', { ...valid, remote: 'git@evil.example.com:x/y.git' }, { jobId: 'other-remote' });
      await queue.add('attempt', { ...valid, version: 99 }, { jobId: 'future' });
      await queue.add(
        'attempt',
        { ...valid, settings: { ...valid.settings, command: ['sh', '-c', 'touch /tmp/pwned'] } },
        { jobId: 'extra-key' },
      );
      await waitFor(async () => (await queue.getFailedCount()) === 4, 20_000, 'the worker to refuse the four jobs');
      expect(worker.output()).toMatch(/refused job bad-id: invalid job: task\.id is not a task id orch makes/);
      expect(worker.output()).toMatch(/refused job other-remote: worker w1 does not run jobs of git@evil\.example\.com:x\/y\.git/);
      expect(worker.output()).toMatch(/refused job future: the job is of version 99, this worker runs version 1/);
      expect(worker.output()).toMatch(/refused job extra-key: invalid job: settings/);
      expect(await agentStarts(state)).toEqual([]);
      const failed = await queue.getFailed();
      expect(failed.map((job) => job.attemptsMade)).toEqual([1, 1, 1, 1]);
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
      connection.disconnect();
      await worker.stop();
    }
  });
});

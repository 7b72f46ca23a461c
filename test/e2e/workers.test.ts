import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentScript, agentStarts, agentState, killStrays } from '../support/agents.js';
import { git } from '../support/git.js';
import { runOrch } from '../support/orch.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { readLedger, readRunRegistry } from '../support/run-state.js';
import { writeFiles } from '../support/tmp.js';
import { simulatedPath } from '../support/path.js';
import { startOrch, waitFor } from '../support/spawn.js';
import { identify, isAlive } from '../../src/process/process-info.js';
import { pathExists } from '../../src/util/fs.js';
import { coordinatorEnv, repoWithRemote, startWorker } from '../support/workers.js';

let redis: RedisServer;

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  await redis.close();
});

const task = (id: string, front: string, steps?: object[]) =>
  `---\nid: ${id}\n${front}---\n# ${id}\nDo ${id}.\n${steps ? agentScript({ steps }) : ''}`;

describe('orch run --workers: a run spread over machines', () => {
  it('runs dependencies and conflicts on two workers, in order, with every branch back on the coordinator; orch merge integrates them', async () => {
    const { repo, remote } = await repoWithRemote({ 'README.md': '# repo\n', 'shared.txt': 'start\n' });
    const state = await agentState();
    const [w1, w2] = await Promise.all([
      startWorker({ redisUrl: redis.url, name: 'w1', state, slots: 2 }),
      startWorker({ redisUrl: redis.url, name: 'w2', state, slots: 2 }),
    ]);
    const slow = (id: string) => [{ sleep: 700 }, { write: `out/${id}.txt`, content: `${id}\n` }, { commit: `task ${id}` }];
    await writeFiles(repo, {
      'prompts/a.md': task('a', '', slow('a')),
      'prompts/b.md': task('b', '', slow('b')),
      'prompts/c.md': task('c', '', slow('c')),
      'prompts/d.md': task('d', 'depends_on: [a, b]\n', [{ requireFile: 'out/a.txt' }, { requireFile: 'out/b.txt' }, ...slow('d')]),
      // e and f edit the same file: f runs after e and builds on its work.
      'prompts/e.md': task('e', 'files: [shared.txt]\n', [{ append: 'shared.txt', content: 'e\n' }, { commit: 'task e' }]),
      'prompts/f.md': task('f', 'files: [shared.txt]\n', [{ append: 'shared.txt', content: 'f\n' }, { commit: 'task f' }]),
    });

    const run = await runOrch(['run', 'prompts'], { cwd: repo, env: coordinatorEnv(redis.url) });
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    const registry = await readRunRegistry(repo);
    expect(registry.run.workers).toMatchObject({ url: redis.url });
    const byId = new Map(registry.tasks.map((entry) => [entry.id, entry]));
    for (const entry of registry.tasks) {
      expect(entry.status).toBe('succeeded');
      // Its branch came back: the coordinator holds the worker's commit.
      const head = await git(repo, 'rev-parse', `refs/heads/${entry.branch}`);
      expect(entry.commits.map((commit) => commit.sha)).toContain(head.trim());
    }
    // Both workers took jobs, and the registry says which ran what.
    const workersUsed = new Set(registry.tasks.map((entry) => entry.attemptLog.at(-1)?.worker?.name));
    expect(workersUsed).toEqual(new Set(['w1', 'w2']));
    // Order: d after a and b, f after e (and f's branch holds e's change).
    const startedAt = (id: string) => Date.parse(byId.get(id)!.startedAt!);
    const finishedAt = (id: string) => Date.parse(byId.get(id)!.finishedAt!);
    expect(startedAt('d')).toBeGreaterThanOrEqual(Math.max(finishedAt('a'), finishedAt('b')));
    const [first, second] = startedAt('e') < startedAt('f') ? ['e', 'f'] : ['f', 'e'];
    expect(startedAt(second)).toBeGreaterThanOrEqual(finishedAt(first));
    expect(await git(repo, 'show', `${byId.get(second)!.branch}:shared.txt`)).toBe(`start\n${first}\n${second}`);
    // Each agent ran once; the agents' output came back into the run folder.
    expect((await agentStarts(state)).length).toBe(6);
    const log = await readFile(path.join(repo, '.gadugi', 'runs', registry.run.id, byId.get('a')!.attemptLog[0]!.log), 'utf8');
    expect(log).toContain('"type":"result"');
    // The ledger tells which worker took each task.
    const ledger = await readLedger(repo, registry.run.id);
    expect(ledger.filter((event) => event.type === 'task-worker')).toHaveLength(6);

    // orch status names the worker of each task.
    const status = await runOrch(['status'], { cwd: repo });
    expect(status.stdout).toMatch(/worker/);
    expect(status.stdout).toMatch(/w[12] \(/);

    // The branches are ordinary local branches: the merge queue integrates them.
    const merge = await runOrch(['merge'], { cwd: repo });
    expect(merge.stderr).toBe('');
    expect(merge.exitCode).toBe(0);
    const integrated = await git(repo, 'show', `orch/${registry.run.id}/integration:shared.txt`);
    expect(integrated.split('\n').sort()).toEqual(['e', 'f', 'start'].sort());

    // The workers' worktrees are gone (everything was pushed); their clones stay for the next job.
    await Promise.all([w1.stop(), w2.stop()]);
    expect(w1.output()).toContain('worker stopped');
    for (const worker of [w1, w2]) expect(await readdir(path.join(worker.workdir, 'worktrees', registry.run.id))).toEqual([]);

    // clean --branches deletes the task branches (their work is on the integration branch) and the run's refs on the remote.
    expect(await git(remote, 'for-each-ref', '--format=%(refname)', `refs/orch/${registry.run.id}/`)).not.toBe('');
    const cleaned = await runOrch(['clean', '--branches'], { cwd: repo });
    expect(cleaned.exitCode).toBe(0);
    expect(cleaned.stdout).toMatch(/remote-ref refs\/orch\/\S+\/tasks\/a deleted/);
    expect(await git(remote, 'for-each-ref', '--format=%(refname)', `refs/orch/${registry.run.id}/`)).toBe('');
  });
});

describe('orch run --workers: the warm pool on a worker', () => {
  it('a worker keeps the worktree of a pushed job in its pool; the next run’s job there takes it, at its own base, ignored files kept', async () => {
    const { repo } = await repoWithRemote({ 'README.md': '# repo\n', '.gitignore': 'cache/\n' });
    const state = await agentState();
    const worker = await startWorker({ redisUrl: redis.url, name: 'w1', state, slots: 1 });
    const steps = (id: string) => [{ write: `out/${id}.txt`, content: `${id}\n` }, { commit: `task ${id}` }];
    await writeFiles(repo, { 'prompts/a.md': task('a', '', [{ write: 'cache/a', content: 'built\n' }, ...steps('a')]) });
    expect((await runOrch(['run', 'prompts'], { cwd: repo, env: coordinatorEnv(redis.url) })).exitCode).toBe(0);
    const first = await readRunRegistry(repo);
    // The worker's clones of the remote (one per remote address it was given).
    const clones = async (): Promise<string[]> =>
      (await readdir(path.join(worker.workdir, 'repos')))
        .filter((name) => name.endsWith('.git'))
        .map((name) => path.join(worker.workdir, 'repos', name));
    const pooled = async (): Promise<string[]> => {
      const lines: string[] = [];
      for (const clone of await clones()) {
        lines.push(
          ...(await git(clone, 'worktree', 'list', '--porcelain'))
            .split('\n')
            .filter((line) => line.startsWith('worktree ') && line.includes(`${path.sep}.pool${path.sep}`)),
        );
      }
      return lines;
    };
    await waitFor(async () => ((await pooled()).length === 1 ? true : undefined), 30_000, 'the worktree to be pooled');

    await git(repo, 'commit', '-q', '--allow-empty', '-m', 'move on');
    await git(repo, 'push', '-q', 'origin', 'main');
    await writeFiles(repo, { 'prompts/a.md': task('c', '', [{ requireFile: 'cache/a' }, ...steps('c')]) });
    expect((await runOrch(['run', 'prompts'], { cwd: repo, env: coordinatorEnv(redis.url) })).exitCode).toBe(0);
    const runs = (await readdir(path.join(repo, '.gadugi', 'runs'))).filter((name) => name !== first.run.id && !name.startsWith('.'));
    const c = (await readRunRegistry(repo, runs[0])).tasks[0]!;
    expect(c).toMatchObject({ status: 'succeeded', worktreeFromPool: true });
    // Its branch is the new base plus its own commit: nothing of task a's.
    expect(await git(repo, 'rev-parse', `${c.branch}~1`)).toBe(await git(repo, 'rev-parse', 'main'));
    expect((await git(repo, 'ls-tree', '-r', '--name-only', c.branch)).split('\n').sort()).toEqual([
      '.gitignore',
      'README.md',
      'out/c.txt',
    ]);
    await waitFor(async () => ((await pooled()).length === 1 ? true : undefined), 30_000, 'the worktree to be pooled again');
    await worker.stop();
    for (const clone of await clones()) await git(clone, 'fsck', '--no-progress');
  });
});

describe('orch run --workers: a worker that died while switching a pooled worktree', () => {
  it('puts it back in the pool when it starts again; the job runs again there, in that worktree; nothing lost, git consistent', async () => {
    const { repo } = await repoWithRemote({ 'README.md': '# repo\n', '.gitignore': 'cache/\n' });
    const state = await agentState();
    // The dead worker's job lock must expire for the job to run again; 3 s (as in the faults below)
    // can expire under a loaded machine while the first job runs, and the job is then kept aside, not pooled.
    const args = ['--stall-timeout', '10s'];
    const w1 = await startWorker({ redisUrl: redis.url, name: 'w1', state, slots: 1, args });
    const steps = (id: string) => [{ write: `out/${id}.txt`, content: `${id}\n` }, { commit: `task ${id}` }];
    await writeFiles(repo, { 'prompts/a.md': task('a', '', [{ write: 'cache/a', content: 'built\n' }, ...steps('a')]) });
    expect((await runOrch(['run', 'prompts'], { cwd: repo, env: coordinatorEnv(redis.url) })).exitCode).toBe(0);
    const first = await readRunRegistry(repo);
    // The worker's workdir holds a clone of every remote it was told of (earlier tests' too, on this
    // Redis): this run's is the one whose job left a worktree in its pool.
    const linkedOf = async (cloneDir: string): Promise<string[]> =>
      (await git(cloneDir, 'worktree', 'list', '--porcelain'))
        .split('\n')
        .filter((line) => line.startsWith('worktree '))
        .map((line) => line.slice('worktree '.length))
        .slice(1);
    const pooledOf = async (cloneDir: string): Promise<string[]> =>
      (await linkedOf(cloneDir)).filter((where) => path.basename(path.dirname(where)) === '.pool');
    const cloneDir = await waitFor(
      async () => {
        for (const name of await readdir(path.join(w1.workdir, 'repos'))) {
          const dir = path.join(w1.workdir, 'repos', name);
          if (name.endsWith('.git') && (await pooledOf(dir)).length === 1) return dir;
        }
        return undefined;
      },
      30_000,
      'the worktree to be pooled',
    );
    const linked = (): Promise<string[]> => linkedOf(cloneDir);
    const inPool = (): Promise<string[]> => pooledOf(cloneDir);
    const [pooled] = await inPool();

    // A post-checkout hook in the worker's clone that stops the switch of a pooled worktree to its
    // new branch (HEAD moves to another commit) until the test has killed the worker.
    const arrived = path.join(state, 'switching');
    const hook = path.join(await git(cloneDir, 'rev-parse', '--absolute-git-dir'), 'hooks', 'post-checkout');
    await writeFile(
      hook,
      `#!/bin/sh\nzero=0000000000000000000000000000000000000000\nif [ "$1" != "$zero" ] && [ "$1" != "$2" ] && [ ! -e '${arrived}' ]; then : > '${arrived}'; while :; do sleep 1; done; fi\nexit 0\n`,
      { mode: 0o755 },
    );
    await git(repo, 'commit', '-q', '--allow-empty', '-m', 'move on');
    await git(repo, 'push', '-q', 'origin', 'main');
    await writeFiles(repo, { 'prompts/a.md': task('c', '', [{ requireFile: 'cache/a' }, ...steps('c')]) });
    const orch = startOrch(['run', 'prompts'], { cwd: repo, env: coordinatorEnv(redis.url) });
    await waitFor(async () => (await pathExists(arrived)) || undefined, 30_000, 'the worker to switch the pooled worktree');
    w1.child.kill('SIGKILL');
    await w1.child;
    // The hook's shell (and the git waiting on it) outlive the worker: they carry the test's environment.
    expect((await killStrays(state, 0)).length).toBeGreaterThan(0);
    // Taken from the pool, marked as such, not in the pool any more; no agent started in it.
    expect(await inPool()).toEqual([]);
    expect(await agentStarts(state)).toHaveLength(1);

    // It starts again on the same workdir: the worktree goes back to the pool, nothing is kept
    // aside, and the job (its lock expired) runs again there, in that same worktree.
    const again = await startWorker({ redisUrl: redis.url, name: 'w1', state, slots: 1, args, workdir: w1.workdir });
    expect(again.output()).not.toMatch(/kept /);
    const result = await orch;
    expect(result.exitCode).toBe(0);
    const runs = (await readdir(path.join(repo, '.gadugi', 'runs'))).filter((name) => name !== first.run.id && !name.startsWith('.'));
    const c = (await readRunRegistry(repo, runs[0])).tasks[0]!;
    expect(c).toMatchObject({ status: 'succeeded', worktreeFromPool: true });
    // The agent ran once, in the pooled worktree: its ignored build output was there.
    const starts = await agentStarts(state);
    expect(starts.map((start) => start.taskId)).toEqual(['a', 'c']);
    expect(await git(repo, 'rev-parse', `${c.branch}~1`)).toBe(await git(repo, 'rev-parse', 'main'));
    expect((await git(repo, 'ls-tree', '-r', '--name-only', c.branch)).split('\n').sort()).toEqual([
      '.gitignore',
      'README.md',
      'out/c.txt',
    ]);
    // Nothing lost: a's work is still on its branch; the worktree is back in the pool once c's job pushed; git is consistent.
    expect(await git(repo, 'show', `${first.tasks[0]!.branch}:out/a.txt`)).toBe('a');
    await waitFor(
      async () => ((await linked()).length === 1 && (await inPool()).length === 1 ? true : undefined),
      30_000,
      'the pool to hold it again',
    );
    expect(await pathExists(path.join(w1.workdir, 'kept'))).toBe(false);
    expect(path.basename(pooled!).split('-')[0]).toBe('a');
    // The branch the cut-short switch made (at the base, no agent's work) went with it: nothing kept aside for it.
    expect(await git(cloneDir, 'for-each-ref', '--format=%(refname)', 'refs/heads/')).toBe('');
    await again.stop();
    await git(cloneDir, 'fsck', '--no-progress');
  });
});

describe('orch run --workers: faults', () => {
  it('a worker killed with SIGKILL mid-task: another worker runs the job again, fresh; the move is on record; its leftovers are dealt with when it comes back', async () => {
    const { repo } = await repoWithRemote();
    const state = await agentState();
    const gate = path.join(state, 'never-opened');
    const w1 = await startWorker({ redisUrl: redis.url, name: 'w1', state, slots: 1, args: ['--stall-timeout', '3s'] });
    // The first start waits on a gate that never opens (its worker dies under it); the second one does the work.
    await writeFiles(repo, {
      'prompts/slow.md': `# slow\n${agentScript({
        runs: [
          [{ write: 'half.txt', content: 'half\n' }, { waitFor: gate }],
          [{ write: 'out/slow.txt', content: 'done\n' }, { commit: 'task slow' }],
        ],
      })}`,
    });
    const orch = startOrch(['run', 'prompts'], { cwd: repo, env: coordinatorEnv(redis.url) });
    await waitFor(async () => (await agentStarts(state)).length === 1, 30_000, 'the agent to start on w1');
    const w2 = await startWorker({ redisUrl: redis.url, name: 'w2', state, slots: 1, args: ['--stall-timeout', '3s'] });
    w1.child.kill('SIGKILL');
    await w1.child;

    const result = await orch;
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const registry = await readRunRegistry(repo);
    const [slow] = registry.tasks;
    expect(slow?.status).toBe('succeeded');
    // One attempt, which moved from w1 to w2: nothing ran twice on the coordinator's side.
    expect(slow?.attemptLog).toHaveLength(1);
    expect(slow?.attemptLog[0]).toMatchObject({ worker: { name: 'w2' }, moves: 1 });
    const moved = (await readLedger(repo)).filter((event) => event.type === 'task-worker');
    expect(moved.map((event) => event.type === 'task-worker' && [event.worker, event.from])).toEqual([
      ['w1', undefined],
      ['w2', 'w1'],
    ]);
    expect(result.stdout).toContain('moved from w1 (lost) to w2');
    // The branch holds the second start's work only.
    expect(await git(repo, 'log', '--format=%s', `main..${slow!.branch}`)).toBe('task slow');
    await w2.stop();

    // w1's agent outlived it (its own process group): the next worker on w1's workdir stops it, and keeps its worktree.
    const [orphan] = await agentStarts(state);
    const orphanIdentity = identify(orphan!.pid);
    expect(isAlive(orphanIdentity)).toBe(true);
    const again = await startWorker({ redisUrl: redis.url, name: 'w1', state, workdir: w1.workdir });
    expect(again.output()).toContain(`stopped agent pid ${orphan!.pid}`);
    expect(again.output()).toMatch(/kept .*slow as .*kept/);
    expect(isAlive(orphanIdentity)).toBe(false);
    const kept = await readdir(path.join(w1.workdir, 'kept', registry.run.id));
    expect(await readFile(path.join(w1.workdir, 'kept', registry.run.id, kept[0]!, 'half.txt'), 'utf8')).toBe('half\n');
    await again.stop();
  });

  it('the coordinator killed with SIGKILL: the workers go on; orch resume re-attaches to the jobs in flight and collects the finished ones, starting none twice', async () => {
    const { repo } = await repoWithRemote();
    const state = await agentState();
    const gateP = path.join(state, 'gate-p');
    const gateQ = path.join(state, 'gate-q');
    const [w1, w2] = await Promise.all([
      startWorker({ redisUrl: redis.url, name: 'w1', state, slots: 1 }),
      startWorker({ redisUrl: redis.url, name: 'w2', state, slots: 1 }),
    ]);
    const gated = (id: string, gate: string) => [
      { waitFor: gate },
      { write: `out/${id}.txt`, content: `${id}\n` },
      { commit: `task ${id}` },
    ];
    await writeFiles(repo, {
      'prompts/p.md': task('p', '', gated('p', gateP)),
      'prompts/q.md': task('q', '', gated('q', gateQ)),
      'prompts/r.md': task('r', 'depends_on: [p]\n', [
        { requireFile: 'out/p.txt' },
        { write: 'out/r.txt', content: 'r\n' },
        { commit: 'task r' },
      ]),
    });
    const orch = startOrch(['run', 'prompts'], { cwd: repo, env: coordinatorEnv(redis.url) });
    await waitFor(async () => (await agentStarts(state)).length === 2, 30_000, 'both agents to start');
    await waitFor(async () => (await readRunRegistry(repo)).tasks.filter((entry) => entry.attemptLog.at(-1)?.worker).length === 2);
    orch.kill('SIGKILL');
    await orch;

    // p finishes while no coordinator listens; q is still running when the resume starts.
    await writeFile(gateP, '');
    const pWorker = (await readRunRegistry(repo)).tasks.find((entry) => entry.id === 'p')!.attemptLog[0]!.worker!.name;
    await (pWorker === 'w1' ? w1 : w2).waitForOutput(/✓ p succeeded/);
    const resume = startOrch(['resume'], { cwd: repo, env: coordinatorEnv(redis.url) });
    await waitFor(async () => (await readRunRegistry(repo)).run.sessions.length === 2, 30_000, 'the resume to take the run over');
    await writeFile(gateQ, '');
    const result = await resume;
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);

    const registry = await readRunRegistry(repo);
    expect(registry.tasks.map((entry) => [entry.id, entry.status, entry.attemptLog.length])).toEqual([
      ['p', 'succeeded', 1],
      ['q', 'succeeded', 1],
      ['r', 'succeeded', 1],
    ]);
    // Every agent started once: the jobs in flight were followed, not queued again.
    const starts = await agentStarts(state);
    expect(starts.map((start) => start.taskId).sort()).toEqual(['p', 'q', 'r']);
    for (const id of ['p', 'q', 'r']) expect(await git(repo, 'show', `orch/${registry.run.id}/${id}:out/${id}.txt`)).toBe(id);
    await Promise.all([w1.stop(), w2.stop()]);
  });

  it('Ctrl-C on the coordinator: every job of the run is stopped, no agent outlives the kill grace on any worker, tasks are interrupted; resume finishes them', async () => {
    const { repo } = await repoWithRemote();
    const state = await agentState();
    // Opened once the run is interrupted: the first agents wait on it until they are stopped.
    const gate = path.join(state, 'gate');
    const [w1, w2] = await Promise.all([
      startWorker({ redisUrl: redis.url, name: 'w1', state, slots: 1 }),
      startWorker({ redisUrl: redis.url, name: 'w2', state, slots: 1 }),
    ]);
    const gated = (id: string) =>
      agentScript({ steps: [{ waitFor: gate }, { write: `out/${id}.txt`, content: `${id}\n` }, { commit: `task ${id}` }] });
    await writeFiles(
      repo,
      Object.fromEntries(['x', 'y', 'z'].map((id) => [`prompts/${id}.md`, `---\nid: ${id}\n---\n# ${id}\n${gated(id)}`])),
    );
    const orch = startOrch(['run', 'prompts'], { cwd: repo, env: coordinatorEnv(redis.url) });
    await waitFor(async () => (await agentStarts(state)).length === 2, 30_000, 'two agents to start');
    const agents = (await agentStarts(state)).map((start) => identify(start.pid));
    const interruptedAt = Date.now();
    orch.kill('SIGINT');
    const result = await orch;
    expect(result.exitCode).toBe(130);
    // Stopped within the kill grace (5 s) and a few seconds: no agent of the run is left on any worker.
    await waitFor(() => agents.every((agent) => !isAlive(agent)), 10_000, 'the agents to stop');
    expect(Date.now() - interruptedAt).toBeLessThan(5_000 + 10_000);
    const registry = await readRunRegistry(repo);
    expect(registry.tasks.filter((entry) => entry.status === 'interrupted')).toHaveLength(2);
    expect(registry.tasks.filter((entry) => entry.status === 'pending')).toHaveLength(1);

    await writeFile(gate, '');
    const resumed = await runOrch(['resume'], { cwd: repo, env: coordinatorEnv(redis.url) });
    expect(resumed.stderr).toBe('');
    expect(resumed.exitCode).toBe(0);
    expect((await readRunRegistry(repo)).tasks.every((entry) => entry.status === 'succeeded')).toBe(true);
    await Promise.all([w1.stop(), w2.stop()]);
  });

  it('Redis restarted mid-run: coordinator and workers reconnect, and the run finishes', async () => {
    const persistent = await startRedis({ persistent: true });
    try {
      const { repo } = await repoWithRemote();
      const state = await agentState();
      const gate = path.join(state, 'gate');
      const worker = await startWorker({ redisUrl: persistent.url, name: 'w1', state, slots: 2 });
      const gated = (id: string) => [{ waitFor: gate }, { write: `out/${id}.txt`, content: `${id}\n` }, { commit: `task ${id}` }];
      await writeFiles(repo, { 'prompts/a.md': task('a', '', gated('a')), 'prompts/b.md': task('b', '', gated('b')) });
      const orch = startOrch(['run', 'prompts'], { cwd: repo, env: coordinatorEnv(persistent.url) });
      await waitFor(async () => (await agentStarts(state)).length === 2, 30_000, 'both agents to start');
      await persistent.stop();
      await persistent.restart();
      await writeFile(gate, '');
      const result = await orch;
      expect(result.exitCode).toBe(0);
      expect((await readRunRegistry(repo)).tasks.map((entry) => entry.status)).toEqual(['succeeded', 'succeeded']);
      expect((await agentStarts(state)).length).toBe(2);
      await worker.stop();
    } finally {
      await persistent.close();
    }
  });

  it('a push the remote rejects: that attempt fails with reason remote and says why; the other tasks go on', async () => {
    const { repo, remote } = await repoWithRemote();
    const hook = path.join(remote, 'hooks', 'pre-receive');
    await writeFile(
      hook,
      '#!/bin/sh\nwhile read old new ref; do case "$ref" in */tasks/bad) echo "refs of task bad are not accepted here" >&2; exit 1;; esac; done\nexit 0\n',
      { mode: 0o755 },
    );
    const state = await agentState();
    const worker = await startWorker({ redisUrl: redis.url, name: 'w1', state, slots: 2 });
    await writeFiles(repo, { 'prompts/bad.md': task('bad', ''), 'prompts/good.md': task('good', '') });
    const result = await runOrch(['run', 'prompts', '--retries', '0'], { cwd: repo, env: coordinatorEnv(redis.url) });
    expect(result.exitCode).toBe(1);
    const registry = await readRunRegistry(repo);
    const bad = registry.tasks.find((entry) => entry.id === 'bad')!;
    expect(bad).toMatchObject({ status: 'failed', failure: 'remote' });
    expect(bad.reason).toMatch(/cannot push orch\/.*\/bad to .*refs of task bad are not accepted here/);
    expect(registry.tasks.find((entry) => entry.id === 'good')?.status).toBe('succeeded');
    expect(worker.output()).toMatch(/✗ bad failed: cannot push/);
    await worker.stop();
  });

  it('agent.sandbox travels with the job: a worker that cannot sandbox fails the attempt when it is required; one that can runs the agent sandboxed', async () => {
    const { repo } = await repoWithRemote();
    const state = await agentState();
    await writeFiles(repo, { 'prompts/boxed.md': task('boxed', '') });
    const bare = await startWorker({
      redisUrl: redis.url,
      name: 'nobox',
      state,
      env: { PATH: await simulatedPath({ without: ['bwrap', 'socat'] }) },
    });
    expect(bare.output()).toMatch(/sandbox: unavailable: bubblewrap \(bwrap\) and socat are not installed/);
    const refused = await runOrch(['run', 'prompts', '--retries', '0'], {
      cwd: repo,
      env: coordinatorEnv(redis.url, { ORCH_SANDBOX: 'true' }),
    });
    expect(refused.exitCode).toBe(1);
    const first = (await readRunRegistry(repo)).tasks[0]!;
    expect(first).toMatchObject({ status: 'failed', failure: 'spawn' });
    expect(first.reason).toMatch(/^on worker nobox: agent\.sandbox is true but agents cannot be sandboxed on this machine: bubblewrap/);
    expect(await agentStarts(state)).toHaveLength(0);
    await bare.stop();

    // Programs that answer like bubblewrap and socat: the worker's probe passes, the agent gets the settings.
    const boxed = await startWorker({
      redisUrl: redis.url,
      name: 'box',
      state,
      env: { PATH: await simulatedPath({ scripts: { bwrap: 'exit 0', socat: 'exit 0' } }) },
    });
    expect(boxed.output()).toMatch(/sandbox: bubblewrap/);
    const resumed = await runOrch(['resume', '--retry-failed'], { cwd: repo, env: coordinatorEnv(redis.url, { ORCH_SANDBOX: 'true' }) });
    expect(resumed.exitCode).toBe(0);
    const [start] = await agentStarts(state);
    expect(start?.args).toContain('--settings');
    const settings = JSON.parse(await readFile(start!.args[start!.args.indexOf('--settings') + 1]!, 'utf8')) as {
      sandbox: { enabled: boolean; failIfUnavailable: boolean };
    };
    expect(settings.sandbox).toMatchObject({ enabled: true, failIfUnavailable: true });
    expect(start?.args.join(' ')).toContain('Bash(git push');
    await boxed.stop();
  });
});

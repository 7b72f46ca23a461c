import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentScript, agentStarts, agentState } from '../support/agents.js';
import { git } from '../support/git.js';
import { runOrch } from '../support/orch.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { readLedger, readRunRegistry } from '../support/run-state.js';
import { writeFiles } from '../support/tmp.js';
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
    const { repo } = await repoWithRemote({ 'README.md': '# repo\n', 'shared.txt': 'start\n' });
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
  });
});

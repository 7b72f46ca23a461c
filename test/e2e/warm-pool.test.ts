import { chmod, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentScript, agentState, fakeAgentEnv, finishes, killStrays, roomyMachine } from '../support/agents.js';
import { git, listedWorktrees, tempRepo, type ListedWorktree } from '../support/git.js';
import { installRendezvousHook } from '../support/hooks.js';
import { runOrch } from '../support/orch.js';
import { readRunRegistry } from '../support/run-state.js';
import { startOrch, waitFor } from '../support/spawn.js';
import { tempDir, writeFiles } from '../support/tmp.js';
import type { Registry } from '../../src/state/registry.js';

interface CleanActionJson {
  run: string;
  kind: string;
  target: string;
  result: string;
  reason?: string;
}

/** The newest run's registry (run ids sort by the time they started). */
/** The run started last (by its start time: run ids name the second only, and two runs can start in one). */
async function latestRun(repo: string): Promise<Registry> {
  const ids = (await readdir(path.join(repo, '.gadugi', 'runs'))).filter((name) => !name.startsWith('.'));
  const runs = await Promise.all(ids.map((id) => readRunRegistry(repo, id)));
  return runs.reduce((latest, run) => (Date.parse(run.run.startedAt) > Date.parse(latest.run.startedAt) ? run : latest));
}

const pooled = async (repo: string): Promise<ListedWorktree[]> =>
  (await listedWorktrees(repo)).filter((entry) => path.basename(path.dirname(entry.path)) === '.pool');

/** Tracked files of `ref`, and what `worktree` holds that git does not ignore, must be the same. */
async function expectExactly(worktree: string, ref: string): Promise<void> {
  expect(await git(worktree, 'status', '--porcelain', '--untracked-files=all')).toBe('');
  expect(await git(worktree, 'ls-files')).toBe(await git(worktree, 'ls-tree', '-r', '--name-only', ref));
  expect(await git(worktree, 'diff', '--stat', ref)).toBe('');
}

/**
 * Tasks whose agents commit their own file; each checks the setup's ignored output is there.
 * `rerunnable`: an agent run again after its work was committed (its orch died before the end was
 * on record) commits nothing more and succeeds, as a real agent finding its work done would.
 */
function prompts(ids: readonly string[], options: { rerunnable?: boolean } = {}): Record<string, string> {
  const work = (id: string): object[] =>
    options.rerunnable
      ? [
          { write: `${id}.txt`, content: `${id}.txt\n` },
          { sh: `git add -A && (git diff --cached --quiet || git commit -q -m 'add ${id}.txt')` },
        ]
      : finishes(`${id}.txt`);
  return Object.fromEntries(
    ids.map((id) => [
      `prompts/${id}.md`,
      `# Task ${id}\n${agentScript({ steps: [{ requireFile: 'node_modules/installed' }, ...work(id)] })}`,
    ]),
  );
}

/**
 * A repository whose setup "installs" into an ignored node_modules and logs every time it runs,
 * keyed on package-lock.json.
 */
async function poolRepo(): Promise<{ repo: string; setupLog: string; env: NodeJS.ProcessEnv; state: string }> {
  const repo = await tempRepo({
    '.gitignore': 'node_modules/\n',
    'package-lock.json': '{"lockfileVersion":3}\n',
    'src.txt': 'v1\n',
    'old.txt': 'old\n',
  });
  const state = await agentState();
  const setupLog = path.join(await tempDir('orch-setup-log-'), 'setup.log');
  await writeFiles(repo, {
    '.gadugi/config.json': JSON.stringify({
      maxParallel: 2,
      worktree: {
        setup: ['mkdir -p node_modules && echo "$ORCH_TASK_ID" >> node_modules/installed && echo "$ORCH_TASK_ID" >> "$SETUP_LOG"'],
        setupKey: ['package-lock.json'],
      },
    }),
  });
  return { repo, setupLog, state, env: fakeAgentEnv(state, { SETUP_LOG: setupLog }) };
}

async function commitOnMain(repo: string, files: Record<string, string>, message: string): Promise<void> {
  await writeFiles(repo, files);
  await git(repo, 'add', '-A', '--', ...Object.keys(files));
  await git(repo, 'commit', '-q', '-m', message);
}

describe('the warm pool', () => {
  it('clean pools clean worktrees; the next tasks take them at their new base, keep ignored files, and skip setup only while the key files are unchanged', async () => {
    const { repo, setupLog, env } = await poolRepo();
    await writeFiles(repo, prompts(['a', 'b']));
    expect((await runOrch(['run', 'prompts/a.md', 'prompts/b.md'], { cwd: repo, env })).exitCode).toBe(0);
    expect((await readFile(setupLog, 'utf8')).split('\n').filter(Boolean).sort()).toEqual(['a', 'b']);

    // One worktree is left dirty by hand: clean keeps it, and never pools it.
    const first = await latestRun(repo);
    const dirty = first.tasks.find((task) => task.id === 'b')!;
    await writeFile(path.join(dirty.worktree, 'notes.txt'), 'mine\n');
    const cleaned = JSON.parse((await runOrch(['clean', '--json'], { cwd: repo })).stdout) as { actions: CleanActionJson[] };
    expect(
      cleaned.actions.filter((action) => action.kind === 'worktree').map((action) => [action.target?.split('/').at(-1), action.result]),
    ).toEqual([
      ['a', 'pooled'],
      ['b', 'kept'],
    ]);
    // --force removes the dirty one; it does not pool it.
    const forced = JSON.parse((await runOrch(['clean', '--force', '--json'], { cwd: repo })).stdout) as {
      actions: CleanActionJson[];
    };
    expect(forced.actions.filter((action) => action.kind === 'worktree').map((action) => action.result)).toEqual(['removed']);
    const pool = await pooled(repo);
    expect(pool).toHaveLength(1);
    expect(pool[0]!.detached).toBe(true);
    // Its branch is free: the task's commits are still on it.
    expect(await git(repo, 'show', `${first.tasks[0]!.branch}:a.txt`)).toBe('a.txt');

    // The base moves on: a changed file, a deleted file, a new file (the key file unchanged).
    await git(repo, 'rm', '-q', 'old.txt');
    await commitOnMain(repo, { 'src.txt': 'v2\n', 'added.txt': 'new\n' }, 'move on');
    await writeFiles(repo, prompts(['c']));
    expect((await runOrch(['run', 'prompts/c.md'], { cwd: repo, env })).exitCode).toBe(0);
    const second = await latestRun(repo);
    const c = second.tasks[0]!;
    expect(c).toMatchObject({ status: 'succeeded', worktreeFromPool: true, setupSkipped: true });
    expect((await pooled(repo)).length).toBe(0);
    // At exactly its base plus its own commit: nothing of task a's, the ignored install kept.
    await expectExactly(c.worktree, c.branch);
    expect(await git(c.worktree, 'rev-parse', `${c.branch}~1`)).toBe(second.run.baseSha);
    expect((await git(c.worktree, 'ls-files')).split('\n')).toEqual(['.gitignore', 'added.txt', 'c.txt', 'package-lock.json', 'src.txt']);
    expect(await readFile(path.join(c.worktree, 'src.txt'), 'utf8')).toBe('v2\n');
    expect(await readFile(path.join(c.worktree, 'node_modules', 'installed'), 'utf8')).toBe('a\n');
    expect((await readFile(setupLog, 'utf8')).split('\n').filter(Boolean)).toHaveLength(2);
    const prompt = await readFile(path.join(repo, '.gadugi', 'runs', second.run.id, 'prompts', 'c.md'), 'utf8');
    expect(prompt).toContain('The setup commands already ran in this worktree and `package-lock.json` have not changed since');

    // The key file changes: the pooled worktree's setup runs again.
    expect((await runOrch(['clean', '--json'], { cwd: repo })).exitCode).toBe(0);
    await commitOnMain(repo, { 'package-lock.json': '{"lockfileVersion":3,"packages":{}}\n' }, 'new lock');
    await writeFiles(repo, prompts(['d']));
    expect((await runOrch(['run', 'prompts/d.md'], { cwd: repo, env })).exitCode).toBe(0);
    const d = (await latestRun(repo)).tasks[0]!;
    expect(d.worktreeFromPool).toBe(true);
    expect(d.setupSkipped).toBeUndefined();
    expect((await readFile(setupLog, 'utf8')).split('\n').filter(Boolean).at(-1)).toBe('d');
    await expectExactly(d.worktree, d.branch);

    // --no-pool (like --pool 0) empties the pool; the repository stays consistent.
    expect((await runOrch(['clean', '--json'], { cwd: repo })).exitCode).toBe(0);
    expect(await pooled(repo)).toHaveLength(1);
    const emptied = await runOrch(['clean', '--no-pool'], { cwd: repo });
    expect(emptied.exitCode).toBe(0);
    expect(emptied.stdout).toMatch(/warm pool\n\s+pool \S+\.pool\/d-[0-9a-f]+ removed/);
    expect(await pooled(repo)).toHaveLength(0);
    expect(await listedWorktrees(repo)).toHaveLength(1);
    await git(repo, 'fsck', '--no-progress');
  });

  it('refuses a --pool that is not a whole number, changing nothing', async () => {
    const repo = await tempRepo();
    const result = await runOrch(['clean', '--pool', 'lots'], { cwd: repo });
    expect(result.exitCode).toBe(2);
    expect(result.stderr.trim()).toBe('orch: --pool must be a whole number of worktrees (0 empties the pool), got "lots"');
  });

  it('keeps at most worktree.pool worktrees; 0 in the config pools nothing', async () => {
    const { repo, env } = await poolRepo();
    await writeFiles(repo, prompts(['a', 'b', 'c']));
    expect((await runOrch(['run', 'prompts/*.md'], { cwd: repo, env })).exitCode).toBe(0);
    const result = JSON.parse((await runOrch(['clean', '--pool', '2', '--json'], { cwd: repo })).stdout) as {
      actions: CleanActionJson[];
    };
    expect(result.actions.filter((action) => action.kind === 'worktree').map((action) => action.result)).toEqual([
      'pooled',
      'pooled',
      'removed',
    ]);
    expect(await pooled(repo)).toHaveLength(2);
    // A smaller pool in the config: the next clean trims it.
    await writeFiles(repo, { '.gadugi/config.json': JSON.stringify({ worktree: { pool: 0 } }) });
    const trimmed = JSON.parse((await runOrch(['clean', '--json'], { cwd: repo })).stdout) as { actions: CleanActionJson[] };
    expect(trimmed.actions.map((action) => [action.kind, action.result])).toEqual([
      ['pool', 'removed'],
      ['pool', 'removed'],
    ]);
    expect(await pooled(repo)).toHaveLength(0);
  });

  it('pooled worktrees changed by hand in the pool are still taken at exactly their new base (--force resets every tracked file)', async () => {
    const { repo, env } = await poolRepo();
    await writeFiles(repo, prompts(['a', 'b']));
    expect((await runOrch(['run', 'prompts/[ab].md'], { cwd: repo, env })).exitCode).toBe(0);
    expect((await runOrch(['clean'], { cwd: repo })).exitCode).toBe(0);
    const inPool = await pooled(repo);
    expect(inPool).toHaveLength(2);
    await commitOnMain(repo, { 'src.txt': 'v2\n' }, 'v2');
    // By hand, in the pool. In one: a tracked file both commits agree on changed, one deleted, an
    // untracked file. In the other: a tracked file the new base changes, changed.
    await writeFile(path.join(inPool[0]!.path, 'package-lock.json'), '{"changed":"by hand"}\n');
    await rm(path.join(inPool[0]!.path, 'old.txt'));
    await writeFile(path.join(inPool[0]!.path, 'stray.txt'), 'stray\n');
    await writeFile(path.join(inPool[1]!.path, 'src.txt'), 'by hand\n');
    await writeFiles(repo, prompts(['c', 'd']));
    expect((await runOrch(['run', 'prompts/[cd].md'], { cwd: repo, env })).exitCode).toBe(0);
    const run = await latestRun(repo);
    expect(run.tasks.map((task) => task.worktreeFromPool)).toEqual([true, true]);
    for (const task of run.tasks) {
      expect(await git(task.worktree, 'rev-parse', `${task.branch}~1`)).toBe(run.run.baseSha);
      await expectExactly(task.worktree, task.branch);
      expect(await readFile(path.join(task.worktree, 'package-lock.json'), 'utf8')).toBe('{"lockfileVersion":3}\n');
      expect(await readFile(path.join(task.worktree, 'old.txt'), 'utf8')).toBe('old\n');
      expect(await git(repo, 'show', `${task.branch}:src.txt`)).toBe('v2');
      expect((await git(repo, 'ls-tree', '-r', '--name-only', task.branch)).split('\n').sort()).toEqual(
        ['.gitignore', `${task.id}.txt`, 'old.txt', 'package-lock.json', 'src.txt'].sort(),
      );
    }
  });
});

describe('the warm pool, side by side', () => {
  it('two tasks switch pooled worktrees at the same time: each post-checkout hook waits for the other to begin, which it could not under the lock', async () => {
    const { repo, env, state } = await poolRepo();
    await writeFiles(repo, prompts(['a', 'b']));
    expect((await runOrch(['run', 'prompts/a.md', 'prompts/b.md'], { cwd: repo, env })).exitCode).toBe(0);
    expect((await runOrch(['clean'], { cwd: repo })).exitCode).toBe(0);
    expect(await pooled(repo)).toHaveLength(2);
    await commitOnMain(repo, { 'src.txt': 'v2\n' }, 'move on');
    // Each switch's hook ($1, the old HEAD, differs from $2 and is not all zeros) says it began,
    // then waits for the other's word. Were switches serialized, the first would wait in vain.
    const waitedInVain = await installRendezvousHook(repo, state, {
      pair: ['c', 'd'],
      what: 'switch',
      onlyIf: '[ "$1" != 0000000000000000000000000000000000000000 ] && [ "$1" != "$2" ]',
    });
    await writeFiles(repo, prompts(['c', 'd']));
    // The machine's figure pinned: on a loaded machine the load rule would start one at a time.
    const roomy = { ...env, ORCH_SAMPLER_FILE: await roomyMachine(state) };
    const result = await runOrch(['run', 'prompts/c.md', 'prompts/d.md', '--retries', '0'], { cwd: repo, env: roomy });
    expect(result.exitCode).toBe(0);
    const registry = await latestRun(repo);
    expect(registry.tasks.map((task) => [task.status, task.worktreeFromPool])).toEqual([
      ['succeeded', true],
      ['succeeded', true],
    ]);
    for (const task of registry.tasks) {
      expect(await readFile(path.join(state, `switch-began-${task.id}`), 'utf8')).toBe('');
      expect(await git(task.worktree, 'status', '--porcelain', '--untracked-files=all')).toBe('');
      expect(await git(repo, 'show', `${task.branch}:${task.id}.txt`)).toBe(`${task.id}.txt`);
      expect(await git(repo, 'show', `${task.branch}~1:src.txt`)).toBe('v2');
    }
    expect(await pooled(repo)).toHaveLength(0);
    expect(await waitedInVain()).toEqual([]);
  });
});

describe('the warm pool across crashes', () => {
  /**
   * A post-checkout hook that, once armed, stops the git command that runs it (inside orch's git
   * lock) until the test lets it go: the orch behind it is then killed at that exact moment.
   */
  async function installBlockingHook(
    repo: string,
  ): Promise<{ arm: (when: 'fresh' | 'switch' | 'detach') => Promise<void>; arrived: string }> {
    const dir = await tempDir('orch-hook-');
    const armed = path.join(dir, 'armed');
    const arrived = path.join(dir, 'arrived');
    const hook = path.join(repo, '.git', 'hooks', 'post-checkout');
    // $1 the previous HEAD (all zeros for a fresh checkout), $2 the new HEAD.
    await writeFile(
      hook,
      `#!/bin/sh
[ -f "${armed}" ] || exit 0
when=$(cat "${armed}")
zero=0000000000000000000000000000000000000000
case "$when" in
  fresh) [ "$1" = "$zero" ] || exit 0 ;;
  switch) [ "$1" != "$zero" ] && [ "$1" != "$2" ] || exit 0 ;;
  detach) [ "$1" = "$2" ] || exit 0 ;;
esac
rm -f "${armed}"
touch "${arrived}"
while :; do sleep 1; done
`,
    );
    await chmod(hook, 0o755);
    return { arm: (when) => writeFile(armed, when), arrived };
  }

  async function killInsideHook(args: string[], repo: string, env: NodeJS.ProcessEnv, arrived: string, state: string): Promise<void> {
    const orch = startOrch(args, { cwd: repo, env });
    await waitFor(
      async () =>
        (await readFile(arrived).then(
          () => true,
          () => false,
        )) || undefined,
      30_000,
      'git to reach the hook',
    );
    orch.kill('SIGKILL');
    await orch;
    // The hook's shell (and its sleep) outlive orch: they carry the test's environment.
    expect((await killStrays(state, 0)).length).toBeGreaterThan(0);
    await rm(arrived);
  }

  /** Every task succeeded, on its own worktree, at exactly its branch, and git's own state is sound. */
  async function expectSound(repo: string, registry: Registry): Promise<void> {
    expect(registry.tasks.map((task) => task.status)).toEqual(registry.tasks.map(() => 'succeeded'));
    const list = await listedWorktrees(repo);
    const paths = registry.tasks.map((task) => path.resolve(task.worktree));
    expect(new Set(paths).size).toBe(paths.length);
    for (const task of registry.tasks) {
      const entries = list.filter((entry) => entry.branch === task.branch);
      expect(entries.map((entry) => path.resolve(entry.path))).toEqual([path.resolve(task.worktree)]);
      await expectExactly(task.worktree, task.branch);
      expect(await git(repo, 'show', `${task.branch}:${task.id}.txt`)).toBe(`${task.id}.txt`);
      expect(await git(repo, 'rev-parse', `${task.branch}~1`)).toBe(registry.run.baseSha);
    }
    await git(repo, 'fsck', '--no-progress');
  }

  it('kill -9 after a pooled worktree was switched, while its setup runs: resume reuses it, and the task still says it came from the pool', async () => {
    const { repo, env, state } = await poolRepo();
    await writeFiles(repo, prompts(['a']));
    expect((await runOrch(['run', 'prompts/a.md'], { cwd: repo, env })).exitCode).toBe(0);
    expect((await runOrch(['clean'], { cwd: repo })).exitCode).toBe(0);
    expect(await pooled(repo)).toHaveLength(1);
    // A new lock file: the setup runs in the switched worktree, and stops there once, armed.
    const gate = await tempDir('orch-setup-gate-');
    const armed = path.join(gate, 'armed');
    const arrived = path.join(gate, 'arrived');
    await writeFiles(repo, {
      '.gadugi/config.json': JSON.stringify({
        maxParallel: 2,
        worktree: {
          setup: [
            `if [ -f "${armed}" ]; then rm -f "${armed}"; touch "${arrived}"; while :; do sleep 1; done; fi; mkdir -p node_modules && echo "$ORCH_TASK_ID" >> node_modules/installed`,
          ],
          setupKey: ['package-lock.json'],
        },
      }),
    });
    await commitOnMain(repo, { 'package-lock.json': '{"lockfileVersion":3,"v":2}\n' }, 'new lock');
    await writeFiles(repo, prompts(['b']));
    await writeFile(armed, '');
    await killInsideHook(['run', 'prompts/b.md'], repo, env, arrived, state);
    expect((await runOrch(['resume'], { cwd: repo, env })).exitCode).toBe(0);
    const run = await latestRun(repo);
    await expectSound(repo, run);
    expect(run.tasks.map((task) => task.worktreeFromPool)).toEqual([true]);
    expect(await pooled(repo)).toHaveLength(0);
  });

  it('kill -9 while a worktree is being created, then while a pooled one is switched, then while clean pools: resume and clean finish, nothing lost, no worktree shared', async () => {
    const { repo, env, state } = await poolRepo();
    const { arm, arrived } = await installBlockingHook(repo);

    // 1. Killed inside a fresh `git worktree add`.
    await writeFiles(repo, prompts(['a', 'b']));
    await arm('fresh');
    await killInsideHook(['run', 'prompts/a.md', 'prompts/b.md'], repo, env, arrived, state);
    expect((await runOrch(['resume'], { cwd: repo, env })).exitCode).toBe(0);
    const first = await latestRun(repo);
    await expectSound(repo, first);

    // 2. Killed while clean puts a worktree in the pool; clean again finishes the job.
    await arm('detach');
    await killInsideHook(['clean'], repo, env, arrived, state);
    const again = JSON.parse((await runOrch(['clean', '--json'], { cwd: repo })).stdout) as { actions: CleanActionJson[] };
    expect(again.actions.filter((action) => action.kind === 'worktree').map((action) => action.result)).toEqual(['pooled', 'pooled']);
    for (const task of first.tasks) expect(await git(repo, 'show', `${task.branch}:${task.id}.txt`)).toBe(`${task.id}.txt`);
    expect(await pooled(repo)).toHaveLength(2);

    // 3. Killed while a pooled worktree is switched to its new task's branch; resume switches it again.
    await commitOnMain(repo, { 'src.txt': 'v2\n' }, 'move on');
    // The task not stopped in the hook switches outside the lock and may finish its agent before
    // the kill: resumed, that agent runs again over its committed work.
    await writeFiles(repo, prompts(['c', 'd'], { rerunnable: true }));
    await arm('switch');
    await killInsideHook(['run', 'prompts/c.md', 'prompts/d.md'], repo, env, arrived, state);
    expect((await runOrch(['resume'], { cwd: repo, env })).exitCode).toBe(0);
    const second = await latestRun(repo);
    await expectSound(repo, second);
    expect(second.tasks.map((task) => task.worktreeFromPool)).toEqual([true, true]);
    expect(await pooled(repo)).toHaveLength(0);
    // The first run's work is all still there.
    for (const task of first.tasks) expect(await git(repo, 'show', `${task.branch}:${task.id}.txt`)).toBe(`${task.id}.txt`);
  });
});

import { chmod, mkdir, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CHECKOUT_AT_ONCE_MAX_ENTRIES,
  CHECKOUT_UNDER_WAY,
  branchExists,
  commitLeftovers,
  ensureWorktree,
  saveLeftovers,
  smallRepository,
  fillWorktree,
  listWorktrees,
  lockArgs,
  registerWorktree,
  removeUnfinishedCheckout,
} from '../../src/worktree/git.js';
import { runGroups, statusLines, statusLinesOfEach, statusLinesOfEachOrFailed } from '../../src/worktree/list.js';
import { pooledRegistrations, pooledWorktrees, poolDir, putEachInPool } from '../../src/worktree/pool.js';
import { agentState, fakeAgentEnv } from '../support/agents.js';
import { git, tempRepo } from '../support/git.js';
import { runOrch } from '../support/orch.js';
import { readRunRegistry } from '../support/run-state.js';
import { tempDir, writeFiles } from '../support/tmp.js';

describe('ensureWorktree', () => {
  it('creates, then reuses, then re-attaches a task worktree', async () => {
    const repo = await tempRepo();
    const base = await git(repo, 'rev-parse', 'HEAD');
    const worktree = path.join(await tempDir(), 'wt', 'task');
    expect(await ensureWorktree(repo, worktree, 'orch/r/task', base)).toBe('created');
    expect(await ensureWorktree(repo, worktree, 'orch/r/task', base)).toBe('reused');
    await git(repo, 'worktree', 'remove', '--force', worktree);
    expect(await ensureWorktree(repo, worktree, 'orch/r/task', base)).toBe('reattached');
    expect(await git(worktree, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('orch/r/task');
  });

  it('takes over an empty leftover folder, and refuses one with contents', async () => {
    const repo = await tempRepo();
    const base = await git(repo, 'rev-parse', 'HEAD');
    const root = await tempDir();
    await mkdir(path.join(root, 'empty'));
    expect(await ensureWorktree(repo, path.join(root, 'empty'), 'orch/r/empty', base)).toBe('created');
    await mkdir(path.join(root, 'full'));
    await writeFile(path.join(root, 'full', 'keep.txt'), 'someone else’s\n');
    await expect(ensureWorktree(repo, path.join(root, 'full'), 'orch/r/full', base)).rejects.toThrow(
      /exists but is not a git worktree: move it away/,
    );
    expect(await readdir(path.join(root, 'full'))).toEqual(['keep.txt']);
  });
});

// A repository as large as the checkout outside the git lock is for (see smallRepository).
const notSmall = (): Promise<boolean> => Promise.resolve(false);

describe('registration under the git lock, checkout outside it', () => {
  it('registers a locked, empty worktree; the checkout fills it and unlocks it once; a worktree in use is never checked out again', async () => {
    const repo = await tempRepo({ 'a.txt': 'a\n', 'd/b.txt': 'b\n' });
    const base = await git(repo, 'rev-parse', 'HEAD');
    const worktree = path.join(await tempDir(), 'task');
    expect(await registerWorktree(repo, worktree, 'orch/r/task', base, undefined, undefined, notSmall)).toBe('created');
    // Registered on its branch, nothing checked out yet, locked by orch until it is.
    expect(await readdir(worktree)).toEqual(['.git']);
    expect(await git(repo, 'worktree', 'list', '--porcelain')).toContain(
      `worktree ${worktree}\nHEAD ${base}\nbranch refs/heads/orch/r/task\nlocked ${CHECKOUT_UNDER_WAY}\n`,
    );
    // What a checkout killed in the middle leaves: a stale index.lock, a file half written, no index.
    const gitDir = path.join(repo, '.git', 'worktrees', 'task');
    await writeFile(path.join(gitDir, 'index.lock'), '');
    await writeFile(path.join(worktree, 'a.txt'), 'half');
    expect(await registerWorktree(repo, worktree, 'orch/r/task', base)).toBe('reused');
    expect(await fillWorktree(worktree)).toBe(true);
    expect(await git(worktree, 'status', '--porcelain', '--untracked-files=all')).toBe('');
    expect(await readFile(path.join(worktree, 'a.txt'), 'utf8')).toBe('a\n');
    expect(await readFile(path.join(worktree, 'd/b.txt'), 'utf8')).toBe('b\n');
    expect(await git(repo, 'worktree', 'list', '--porcelain')).not.toContain('locked');

    // Checked out: the agent's work in it is never touched again.
    await writeFile(path.join(worktree, 'a.txt'), 'changed by the agent\n');
    await rm(path.join(worktree, 'd/b.txt'));
    expect(await fillWorktree(worktree)).toBe(false);
    expect(await ensureWorktree(repo, worktree, 'orch/r/task', base)).toBe('reused');
    expect(await readFile(path.join(worktree, 'a.txt'), 'utf8')).toBe('changed by the agent\n');
    expect((await git(worktree, 'status', '--porcelain')).split('\n')).toEqual([' M a.txt', ' D d/b.txt']);
    // A worktree the user locked is theirs: not checked out again either.
    await git(repo, 'worktree', 'lock', '--reason', 'mine', worktree);
    expect(await fillWorktree(worktree)).toBe(false);
    expect(await readFile(path.join(worktree, 'a.txt'), 'utf8')).toBe('changed by the agent\n');
  });

  it('two callers of one checkout share it; a registered worktree whose folder is gone is made again', async () => {
    const repo = await tempRepo({ 'a.txt': 'a\n' });
    const base = await git(repo, 'rev-parse', 'HEAD');
    const worktree = path.join(await tempDir(), 'task');
    await registerWorktree(repo, worktree, 'orch/r/task', base, undefined, undefined, notSmall);
    expect(await Promise.all([fillWorktree(worktree), fillWorktree(worktree)])).toEqual([true, true]);
    expect(await git(worktree, 'status', '--porcelain', '--untracked-files=all')).toBe('');

    // Registered and locked by orch, its folder deleted before the checkout: registered afresh on its branch.
    const other = path.join(await tempDir(), 'other');
    await registerWorktree(repo, other, 'orch/r/other', base, undefined, undefined, notSmall);
    await rm(other, { recursive: true });
    expect(await ensureWorktree(repo, other, 'orch/r/other', base)).toBe('reattached');
    expect(await readFile(path.join(other, 'a.txt'), 'utf8')).toBe('a\n');
    expect(await git(repo, 'worktree', 'list', '--porcelain')).not.toContain('locked');
  });

  it('with a git older than 2.33 (no --reason for add) the worktree is locked right after; one registered but never locked or checked out is finished too', async () => {
    expect(lockArgs('2.33.0')).toEqual(['--lock', '--reason', CHECKOUT_UNDER_WAY]);
    expect(lockArgs('2.32.7')).toEqual([]);
    const repo = await tempRepo({ 'a.txt': 'a\n' });
    const base = await git(repo, 'rev-parse', 'HEAD');
    const root = await tempDir();
    const old = path.join(root, 'old');
    expect(await registerWorktree(repo, old, 'orch/r/old', base, undefined, () => Promise.resolve('2.31.0'))).toBe('created');
    expect((await listWorktrees(repo)).find((entry) => entry.path === old)?.locked).toBe(CHECKOUT_UNDER_WAY);
    expect(await fillWorktree(old)).toBe(true);
    expect(await readFile(path.join(old, 'a.txt'), 'utf8')).toBe('a\n');
    // Stopped between `git worktree add --no-checkout` and `git worktree lock`: only .git there, no index.
    const between = path.join(root, 'between');
    await git(repo, 'worktree', 'add', '-q', '--no-checkout', '-b', 'orch/r/between', between, base);
    expect(await fillWorktree(between)).toBe(true);
    expect(await git(between, 'status', '--porcelain', '--untracked-files=all')).toBe('');
    expect(await fillWorktree(between)).toBe(false);
  });

  it('a worker tidying up after a dead one removes a worktree whose checkout never finished, and only that', async () => {
    const repo = await tempRepo({ 'a.txt': 'a\n' });
    const base = await git(repo, 'rev-parse', 'HEAD');
    const root = await tempDir();
    await registerWorktree(repo, path.join(root, 'unfinished'), 'orch/r/unfinished', base, undefined, undefined, notSmall);
    await writeFile(path.join(root, 'unfinished', 'a.txt'), 'half');
    await ensureWorktree(repo, path.join(root, 'done'), 'orch/r/done', base);
    const entries = await listWorktrees(repo);
    const removed = [];
    for (const entry of entries) if (await removeUnfinishedCheckout(repo, entry.path)) removed.push(path.basename(entry.path));
    expect(removed).toEqual(['unfinished']);
    expect((await listWorktrees(repo)).map((entry) => path.basename(entry.path))).toEqual([path.basename(repo), 'done']);
    expect(await git(repo, 'rev-parse', 'orch/r/unfinished')).toBe(base);
  });

  it('runs the post-checkout hook as git worktree add runs it: same arguments, folder and environment', async () => {
    const repo = await tempRepo({ 'a.txt': 'a\n' });
    const base = await git(repo, 'rev-parse', 'HEAD');
    const seen = await tempDir('orch-hook-');
    const hook = path.join(repo, '.git', 'hooks', 'post-checkout');
    // What the hook got, with the worktree's own name taken out; the environment as git would give it.
    await writeFile(
      hook,
      `#!/bin/sh\nname=$(basename "$PWD")\n{ echo "args: $*"; echo "pwd: $PWD"; env | grep -v -e '^_=' -e '^OLDPWD=' -e '^PWD=' | sort; } | sed "s/$name/<name>/g" > "${seen}/$name"\n`,
    );
    await chmod(hook, 0o755);
    const root = await tempDir();
    await git(repo, 'worktree', 'add', '-q', '-b', 'by-git', path.join(root, 'wt1'), base);
    // The checkout outside the lock runs it itself; a small repository's `git worktree add` runs it.
    expect(await registerWorktree(repo, path.join(root, 'wt2'), 'by-orch', base, undefined, undefined, notSmall)).toBe('created');
    expect(await fillWorktree(path.join(root, 'wt2'))).toBe(true);
    expect(await ensureWorktree(repo, path.join(root, 'wt3'), 'at-once', base)).toBe('created');
    const byGit = await readFile(path.join(seen, 'wt1'), 'utf8');
    expect(byGit).toContain(`args: ${'0'.repeat(40)} ${base} 1\n`);
    expect(byGit).not.toMatch(/^GIT_DIR=/m);
    expect((await readFile(path.join(seen, 'wt2'), 'utf8')).replace('wt2', 'wt1')).toBe(byGit);
    expect((await readFile(path.join(seen, 'wt3'), 'utf8')).replace('wt3', 'wt1')).toBe(byGit);
  });

  it('a small repository’s worktree is checked out by the git worktree add that registers it: unlocked, nothing left for the checkout', async () => {
    const repo = await tempRepo({ 'a.txt': 'a\n', 'd/b.txt': 'b\n' });
    const base = await git(repo, 'rev-parse', 'HEAD');
    const worktree = path.join(await tempDir(), 'task');
    expect(await smallRepository(repo)).toBe(true);
    expect(await registerWorktree(repo, worktree, 'orch/r/task', base)).toBe('created');
    expect(await readFile(path.join(worktree, 'd/b.txt'), 'utf8')).toBe('b\n');
    expect(await git(worktree, 'status', '--porcelain', '--untracked-files=all')).toBe('');
    expect(await git(repo, 'worktree', 'list', '--porcelain')).not.toContain('locked');
    expect(await fillWorktree(worktree)).toBe(false);
    // Its branch already there (a retry, a resume): re-attached, checked out the same way.
    await git(repo, 'worktree', 'remove', '--force', worktree);
    expect(await registerWorktree(repo, worktree, 'orch/r/task', base)).toBe('reattached');
    expect(await readFile(path.join(worktree, 'a.txt'), 'utf8')).toBe('a\n');
    expect(await git(repo, 'worktree', 'list', '--porcelain')).not.toContain('locked');
  });

  it('smallRepository: at most CHECKOUT_AT_ONCE_MAX_ENTRIES entries in the main index; no index is not small', async () => {
    const files = (count: number): Record<string, string> =>
      Object.fromEntries(Array.from({ length: count }, (_, index) => [`f/${index}.txt`, `${index}\n`]));
    expect(await smallRepository(await tempRepo(files(CHECKOUT_AT_ONCE_MAX_ENTRIES)))).toBe(true);
    const large = await tempRepo(files(CHECKOUT_AT_ONCE_MAX_ENTRIES + 1));
    expect(await smallRepository(large)).toBe(false);
    // Not small: registered without its checkout, which fillWorktree does outside the lock.
    const worktree = path.join(await tempDir(), 'task');
    expect(await registerWorktree(large, worktree, 'orch/r/task', await git(large, 'rev-parse', 'HEAD'))).toBe('created');
    expect(await readdir(worktree)).toEqual(['.git']);
    expect(await fillWorktree(worktree)).toBe(true);
    expect(await git(worktree, 'status', '--porcelain', '--untracked-files=all')).toBe('');
    await rm(path.join(large, '.git', 'index'));
    expect(await smallRepository(large)).toBe(false);
  });

  it('a failing post-checkout hook fails the checkout with what it said; the worktree stays, checked out', async () => {
    const repo = await tempRepo({ 'a.txt': 'a\n' });
    const base = await git(repo, 'rev-parse', 'HEAD');
    await writeFile(path.join(repo, '.git', 'hooks', 'post-checkout'), '#!/bin/sh\necho "no, not here" >&2\nexit 3\n');
    await chmod(path.join(repo, '.git', 'hooks', 'post-checkout'), 0o755);
    const worktree = path.join(await tempDir(), 'task');
    await expect(ensureWorktree(repo, worktree, 'orch/r/task', base)).rejects.toThrow(
      /^the post-checkout hook failed in .*task: no, not here$/,
    );
    expect(await git(worktree, 'status', '--porcelain', '--untracked-files=all')).toBe('');
    expect(await ensureWorktree(repo, worktree, 'orch/r/task', base)).toBe('reused');
  });
});

// commitLeftovers and saveLeftovers (the same steps in one sh process, then the commits) must save alike.
const savers: [string, (worktree: string, message: string, exclude?: readonly string[]) => Promise<boolean>][] = [
  ['commitLeftovers', commitLeftovers],
  [
    'saveLeftovers',
    async (worktree, message, exclude) =>
      (await saveLeftovers(worktree, message, await git(worktree, 'rev-parse', 'HEAD'), [], exclude)).committed,
  ],
];

describe.each(savers)('saving what an agent left uncommitted (%s)', (_name, commitLeftovers) => {
  const message = 'orch: work left uncommitted by task t (run r)';
  const subjects = async (worktree: string, base: string) =>
    (await git(worktree, 'log', '--format=%s', `${base}..HEAD`)).split('\n').filter(Boolean);

  it('commits new, changed, deleted and staged files in one commit, and makes none when there is nothing', async () => {
    const repo = await tempRepo({ 'a.txt': 'a\n', 'b.txt': 'b\n', 'c.txt': 'c\n' });
    const base = await git(repo, 'rev-parse', 'HEAD');
    const worktree = path.join(await tempDir(), 'task');
    await ensureWorktree(repo, worktree, 'orch/r/t', base);
    expect(await commitLeftovers(worktree, message)).toBe(false);
    expect(await subjects(worktree, base)).toEqual([]);

    await writeFiles(worktree, { 'a.txt': 'changed\n', 'new/d.txt': 'd\n', 'staged.txt': 'staged\n' });
    await rm(path.join(worktree, 'b.txt'));
    await git(worktree, 'add', 'staged.txt');
    expect(await commitLeftovers(worktree, message)).toBe(true);
    expect(await subjects(worktree, base)).toEqual([message]);
    expect((await git(worktree, 'diff', '--name-status', base, 'HEAD')).split('\n')).toEqual([
      'M\ta.txt',
      'D\tb.txt',
      'A\tnew/d.txt',
      'A\tstaged.txt',
    ]);
    expect(await git(worktree, 'status', '--porcelain', '--untracked-files=all')).toBe('');
    // Committed already: nothing more to save.
    expect(await commitLeftovers(worktree, message)).toBe(false);
    expect(await subjects(worktree, base)).toEqual([message]);
  });

  it('leaves the files orch copied in out of the commit, and makes no commit when only they are there', async () => {
    const repo = await tempRepo({ 'a.txt': 'a\n' });
    const base = await git(repo, 'rev-parse', 'HEAD');
    const worktree = path.join(await tempDir(), 'task');
    await ensureWorktree(repo, worktree, 'orch/r/t', base);
    await writeFiles(worktree, { '.env': 'SECRET=1\n', '*.txt': 'a literal star\n' });
    expect(await commitLeftovers(worktree, message, ['.env', '*.txt'])).toBe(false);
    expect(await subjects(worktree, base)).toEqual([]);
    expect(await git(worktree, 'status', '--porcelain', '--untracked-files=all')).toBe('?? *.txt\n?? .env');

    await writeFiles(worktree, { 'work.txt': 'work\n' });
    expect(await commitLeftovers(worktree, message, ['.env', '*.txt'])).toBe(true);
    expect(await git(worktree, 'show', '--name-only', '--format=', 'HEAD')).toBe('work.txt');
    expect(await git(worktree, 'status', '--porcelain', '--untracked-files=all')).toBe('?? *.txt\n?? .env');
  });

  it('says what git said when it cannot', async () => {
    const repo = await tempRepo({ 'a.txt': 'a\n' });
    const base = await git(repo, 'rev-parse', 'HEAD');
    const worktree = path.join(await tempDir(), 'task');
    await ensureWorktree(repo, worktree, 'orch/r/t', base);
    await writeFiles(worktree, { 'a.txt': 'changed\n' });
    const gitDir = path.join(repo, '.git', 'worktrees', 'task');
    await writeFile(path.join(gitDir, 'index.lock'), '');
    await expect(commitLeftovers(worktree, message)).rejects.toThrow(
      / add -A exited 128: fatal: Unable to create '.*index\.lock': File exists\./,
    );
  });
});

describe('branchExists', () => {
  it('looks up one branch, and says why when it cannot', async () => {
    const repo = await tempRepo();
    await git(repo, 'branch', 'orch/r/t');
    expect(await branchExists(repo, 'main')).toBe(true);
    expect(await branchExists(repo, 'orch/r/t')).toBe(true);
    expect(await branchExists(repo, 'orch/r')).toBe(false);
    expect(await branchExists(repo, 'nope')).toBe(false);
    await expect(branchExists(await tempDir(), 'main')).rejects.toThrow(
      /^git show-ref refs\/heads\/main exited 128: fatal: not a git repository/,
    );
  });
});

describe('a worktree that cannot be prepared', () => {
  it('fails its task with the reason instead of stopping the run', async () => {
    const repo = await tempRepo({ '.gitignore': 'local.cfg\n', '.worktreeinclude': 'local.cfg\n', 'README.md': '# r\n' });
    await symlink('/nonexistent/target', path.join(repo, 'local.cfg'));
    await writeFiles(repo, { 'prompts/a.md': '# A\n' });
    const state = await agentState();
    const result = await runOrch(['run', 'prompts/a.md', '--retries', '0'], { cwd: repo, env: fakeAgentEnv(state) });
    expect(result.exitCode).toBe(1);
    expect((await readRunRegistry(repo)).tasks[0]).toMatchObject({
      status: 'failed',
      failure: 'setup',
      reason: expect.stringMatching(/^cannot prepare the worktree: ENOENT/),
    });
  });
});

describe('git status of many worktrees at once', () => {
  it('gives each worktree what statusLines gives it, in order, whatever the grouping; a failing one fails as statusLines does', async () => {
    const repo = await tempRepo();
    const base = await git(repo, 'rev-parse', 'HEAD');
    const root = await tempDir();
    const worktrees: string[] = [];
    for (const name of ['clean', 'untracked', 'modified', 'with space', 'deleted', 'nested']) {
      const worktree = path.join(root, name);
      await git(repo, 'worktree', 'add', '-q', '-b', `b/${name.replace(' ', '-')}`, worktree, base);
      worktrees.push(worktree);
    }
    await writeFile(path.join(root, 'untracked', 'new file.txt'), 'new\n');
    await writeFile(path.join(root, 'modified', 'README.md'), 'changed\n');
    await writeFile(path.join(root, 'with space', 'a"quote.txt'), 'q\n');
    await rm(path.join(root, 'deleted', 'README.md'));
    await writeFiles(path.join(root, 'nested'), { 'deep/er/one.txt': '1', 'deep/two.txt': '2' });
    const one = await Promise.all(worktrees.map((worktree) => statusLines(worktree)));
    expect(one.map((lines) => lines.length)).toEqual([0, 1, 1, 1, 1, 2]);
    for (const shells of [1, 2, 4, 8]) expect(await statusLinesOfEach(worktrees, shells)).toEqual(one);
    expect(await statusLinesOfEach([])).toEqual([]);

    const gone = path.join(root, 'gone');
    const alone = await statusLines(gone).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(alone).toBeInstanceOf(Error);
    await expect(statusLinesOfEach([worktrees[1]!, gone], 1)).rejects.toThrow((alone as Error).message);
    // Without the second asking: undefined where git failed, the others answered.
    expect(await statusLinesOfEachOrFailed([worktrees[1]!, gone, worktrees[2]!], 2)).toEqual([one[1], undefined, one[2]]);
  });
});

describe('runGroups: one shell, a script per group side by side', () => {
  it('gives each group exactly its items as arguments, its own output and its exit status', async () => {
    const groups = [['a b', '$HOME', '"q"'], [], ["it's", '-n', '*'], Array.from({ length: 12 }, (_, index) => `x${index}`)];
    const results = await runGroups('for item do printf "[%s]" "$item"; done; [ $# -ne 3 ]', groups);
    expect(results.map((result) => result.stdout)).toEqual(groups.map((group) => group.map((item) => `[${item}]`).join('')));
    expect(results.map((result) => result.exitCode)).toEqual([1, 0, 1, 0]);
    expect(await runGroups('exit 3', [])).toEqual([]);
    // Seven at most: sh redirects descriptors up to 9.
    const seven = Array.from({ length: 7 }, (_, index) => [`g${index}`]);
    expect((await runGroups('echo "$1"', seven)).map((result) => result.stdout)).toEqual(seven.map(([item]) => `${item}\n`));
    await expect(runGroups('true', [...seven, ['one more']])).rejects.toThrow('at most 7 groups, not 8');
  });

  it('runs the groups at the same time', async () => {
    const gates = await tempDir('orch-groups-');
    // Each group waits for the other's file: one after another they would wait for ever.
    const script = `: > "${gates}/$1"; while [ ! -f "${gates}/$2" ]; do sleep 0.01; done; echo "$1"`;
    expect(
      (
        await runGroups(script, [
          ['a', 'b'],
          ['b', 'a'],
        ])
      ).map((result) => result.stdout),
    ).toEqual(['a\n', 'b\n']);
  });
});

describe('pooledRegistrations: the pool counted from git’s files', () => {
  it('never counts fewer than git lists, and counts none without a pooled worktree', async () => {
    const repo = await tempRepo();
    const base = await git(repo, 'rev-parse', 'HEAD');
    const root = path.join(repo, '.gadugi', 'worktrees');
    expect(await pooledRegistrations(repo)).toBe(0);
    const worktrees = ['a', 'b', 'c'].map((name) => path.join(root, 'run', name));
    for (const [index, worktree] of worktrees.entries()) await git(repo, 'worktree', 'add', '-q', '-b', `b${index}`, worktree, base);
    expect(await pooledRegistrations(repo)).toBe(0);
    const pooled = await putEachInPool(
      repo,
      poolDir(root),
      worktrees.slice(0, 2).map((worktree) => ({ worktree, untracked: false })),
    );
    expect(pooled.every((destination) => destination !== undefined)).toBe(true);
    expect(await pooledRegistrations(repo)).toBe(2);
    expect(await pooledWorktrees(repo)).toHaveLength(2);
    // From a linked worktree's top (its .git a file naming its folder, whose commondir names the repository's).
    expect(await pooledRegistrations(worktrees[2]!)).toBe(2);
    // One git lists no more (missing from its folder: prunable) still counts: never fewer.
    await rm(pooled[0]!, { recursive: true, force: true });
    expect(await pooledWorktrees(repo)).toHaveLength(1);
    expect(await pooledRegistrations(repo)).toBe(2);
    await git(repo, 'worktree', 'prune');
    expect(await pooledRegistrations(repo)).toBe(1);
  });
});

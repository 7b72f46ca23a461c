import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  commitLeftovers,
  commitsSince,
  saveLeftovers,
  ensureWorktree,
  fillWorktree,
  mergeBranches,
  registeredAlready,
  registerWorktree,
  registrationOf,
} from '../../src/worktree/git.js';
import { cameFromPool } from '../../src/worktree/pool.js';
import { git, tempRepo } from '../support/git.js';
import { tempDir } from '../support/tmp.js';

describe('registrationOf: what git worktree list says of one path, read from git’s files', () => {
  it('a present worktree, one whose folder is gone (with its lock), and a path git does not know', async () => {
    const repo = await tempRepo();
    const base = await git(repo, 'rev-parse', 'HEAD');
    const root = await tempDir();
    const present = path.join(root, 'present');
    const gone = path.join(root, 'gone');
    const locked = path.join(root, 'locked');
    await git(repo, 'worktree', 'add', '-q', '-b', 'present', present, base);
    await git(repo, 'worktree', 'add', '-q', '-b', 'gone', gone, base);
    await git(repo, 'worktree', 'add', '-q', '-b', 'locked', locked, base);
    await git(repo, 'worktree', 'lock', '--reason', 'mine', locked);
    await rm(gone, { recursive: true });
    await rm(locked, { recursive: true });

    expect(await registrationOf(repo, present)).toEqual({ present: true });
    expect(await registrationOf(repo, gone)).toEqual({ present: false });
    expect(await registrationOf(repo, locked)).toEqual({ present: false, locked: 'mine' });
    expect(await registrationOf(repo, path.join(root, 'unknown'))).toBeUndefined();
    // The repository's own working tree is not a linked worktree.
    expect(await registrationOf(repo, repo)).toBeUndefined();
    // Git agrees on which are prunable: the folder-less unlocked one only.
    const listing = await git(repo, 'worktree', 'list', '--porcelain');
    expect(listing.split('\n\n').filter((block) => block.includes('prunable'))).toEqual([expect.stringContaining(`worktree ${gone}`)]);
  });

  it('a worktree whose .git file names another registration is found by the registration that names it', async () => {
    const repo = await tempRepo();
    const base = await git(repo, 'rev-parse', 'HEAD');
    const root = await tempDir();
    const first = path.join(root, 'first');
    const second = path.join(root, 'second');
    await git(repo, 'worktree', 'add', '-q', '-b', 'first', first, base);
    await git(repo, 'worktree', 'add', '-q', '-b', 'second', second, base);
    // first's .git file now names second's registration (a copied .git file, say).
    await writeFile(path.join(first, '.git'), `gitdir: ${path.join(repo, '.git', 'worktrees', 'second')}\n`);
    expect(await registrationOf(repo, first)).toEqual({ present: true });
  });
});

describe('registeredAlready: an attempt’s start that needs nothing under the git lock', () => {
  it('only a worktree registered, present, not left half-taken from the pool, and not being registered by this process', async () => {
    const repo = await tempRepo();
    const base = await git(repo, 'rev-parse', 'HEAD');
    const root = await tempDir();
    const worktree = path.join(root, 'task');
    expect(await registeredAlready(repo, worktree)).toBe(false);
    // While this process registers it, the answer waits for the lock (false), even once git's files are there.
    const registering = registerWorktree(repo, worktree, 'orch/r/task', base);
    expect(await registeredAlready(repo, worktree)).toBe(false);
    expect(await registering).toBe('created');
    expect(await registeredAlready(repo, worktree)).toBe(true);
    // Taken from the pool and not switched yet: registerWorktree must switch it, under the lock.
    const mark = path.join(repo, '.git', 'worktrees', 'task', 'orch-taken-from-pool');
    await writeFile(mark, `${worktree}\n`);
    expect(await registeredAlready(repo, worktree)).toBe(false);
    await rm(mark);
    // Its folder gone: registerWorktree makes it again.
    await rm(worktree, { recursive: true });
    expect(await registeredAlready(repo, worktree)).toBe(false);
  });
});

describe('registerWorktree without a pool to take from', () => {
  it('creates the branch with the worktree, re-attaches an existing branch, and reports git’s own failure otherwise', async () => {
    const repo = await tempRepo();
    const base = await git(repo, 'rev-parse', 'HEAD');
    const root = await tempDir();
    const pool = path.join(root, '.pool');
    expect(await registerWorktree(repo, path.join(root, 'a'), 'orch/r/a', base, pool)).toBe('created');
    await git(repo, 'branch', 'orch/r/b', base);
    expect(await registerWorktree(repo, path.join(root, 'b'), 'orch/r/b', base, pool)).toBe('reattached');
    // An empty pool folder has nothing to take either.
    await mkdir(pool);
    expect(await registerWorktree(repo, path.join(root, 'c'), 'orch/r/c', base, pool)).toBe('created');
    await expect(registerWorktree(repo, path.join(root, 'd'), 'orch/r/d', '0'.repeat(40), pool)).rejects.toThrow(
      /worktree add -b orch\/r\/d/,
    );
    expect(await git(repo, 'branch', '--list', 'orch/r/d')).toBe('');
    expect((await git(repo, 'worktree', 'list', '--porcelain')).split('\n\n').filter(Boolean)).toHaveLength(4);
  });
});

describe('registerWorktree taking from the pool', () => {
  it('a worktree taken from the pool says so after its switch too, when its next attempt reuses it; a fresh one never does', async () => {
    const repo = await tempRepo();
    const base = await git(repo, 'rev-parse', 'HEAD');
    const root = await tempDir();
    const pool = path.join(root, '.pool');
    await mkdir(pool);
    await git(repo, 'worktree', 'add', '--detach', path.join(pool, 'old'), base);
    const taken = path.join(root, 'a');
    expect(await registerWorktree(repo, taken, 'orch/r/a', base, pool)).toBe('pooled');
    expect(await fillWorktree(taken)).toBe(true);
    // Switched: nothing pending, so an orch that stopped here reuses it (a fresh registration would not be)...
    expect(await registeredAlready(repo, taken)).toBe(true);
    // ...and can still tell where it came from.
    expect(await cameFromPool(taken)).toBe(true);
    const fresh = path.join(root, 'b');
    expect(await registerWorktree(repo, fresh, 'orch/r/b', base, pool)).toBe('created');
    await fillWorktree(fresh);
    expect(await cameFromPool(fresh)).toBe(false);
  });
});

/**
 * A task's worktree with a file left over, in a repository whose prepare-commit-msg hook refuses
 * every commit (it runs even with --no-verify; failing, it stops the commit).
 */
async function leftoverWithRefusingHook(): Promise<{ worktree: string; base: string; hooks: string }> {
  const repo = await tempRepo();
  const base = await git(repo, 'rev-parse', 'HEAD');
  const worktree = path.join(await tempDir(), 'wt');
  await ensureWorktree(repo, worktree, 'orch/r/task', base);
  await writeFile(path.join(worktree, 'left.txt'), 'left\n');
  const hooks = path.join(repo, '.git', 'hooks');
  await writeFile(path.join(hooks, 'prepare-commit-msg'), '#!/bin/sh\necho "no commits today" >&2\nexit 1\n', { mode: 0o755 });
  return { worktree, base, hooks };
}

describe('commitLeftovers: the identity of orch’s own commit', () => {
  const saved: Record<string, string | undefined> = {};
  const keys = [
    'GIT_CONFIG_GLOBAL',
    'GIT_CONFIG_NOSYSTEM',
    'EMAIL',
    'GIT_AUTHOR_NAME',
    'GIT_AUTHOR_EMAIL',
    'GIT_COMMITTER_NAME',
    'GIT_COMMITTER_EMAIL',
  ];
  beforeEach(() => {
    for (const key of keys) saved[key] = process.env[key];
    // Only the repository's own configuration counts: no global or system identity, none from the environment.
    process.env.GIT_CONFIG_GLOBAL = '/dev/null';
    process.env.GIT_CONFIG_NOSYSTEM = '1';
    for (const key of keys.slice(2)) delete process.env[key];
  });
  afterEach(() => {
    for (const key of keys) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
  });

  async function leftover(configure: (worktree: string) => Promise<void>): Promise<string> {
    const repo = await tempRepo();
    const base = await git(repo, 'rev-parse', 'HEAD');
    const worktree = path.join(await tempDir(), 'wt');
    await ensureWorktree(repo, worktree, 'orch/r/task', base);
    await configure(repo);
    await writeFile(path.join(worktree, 'left.txt'), 'left\n');
    expect(await commitLeftovers(worktree, 'orch: left over')).toBe(true);
    expect(await commitLeftovers(worktree, 'orch: nothing more')).toBe(false);
    const commits = await commitsSince(worktree, base);
    expect(commits.map((commit) => commit.subject)).toEqual(['orch: left over']);
    return git(worktree, 'log', '-1', '--format=%an <%ae> / %cn <%ce>');
  }

  it('the configured user’s when there is one', async () => {
    expect(await leftover(async () => undefined)).toBe('Test User <test@example.com> / Test User <test@example.com>');
  });

  it('orch’s fallback for what the configuration lacks, never a guessed one', async () => {
    expect(
      await leftover(async (repo) => {
        await git(repo, 'config', '--unset', 'user.name');
        await git(repo, 'config', '--unset', 'user.email');
      }),
    ).toBe('orch <orch@localhost> / orch <orch@localhost>');
    expect(await leftover((repo) => git(repo, 'config', '--unset', 'user.email').then(() => undefined))).toBe(
      'Test User <orch@localhost> / Test User <orch@localhost>',
    );
  });

  it('saveLeftovers (one sh process) commits with the same identities and lists the same commits', async () => {
    const save = async (configure: (repo: string) => Promise<unknown>): Promise<string> => {
      const repo = await tempRepo();
      const base = await git(repo, 'rev-parse', 'HEAD');
      const worktree = path.join(await tempDir(), 'wt');
      await ensureWorktree(repo, worktree, 'orch/r/task', base);
      await configure(repo);
      await writeFile(path.join(worktree, 'left.txt'), 'left\n');
      const saved = await saveLeftovers(worktree, 'orch: left over', base);
      expect(saved.committed).toBe(true);
      expect(saved.commits.map((commit) => commit.subject)).toEqual(['orch: left over']);
      expect(saved.commits[0]!.sha).toBe(await git(worktree, 'rev-parse', 'HEAD'));
      expect(await saveLeftovers(worktree, 'orch: nothing more', base)).toEqual({ committed: false, commits: saved.commits });
      return git(worktree, 'log', '-1', '--format=%an <%ae> / %cn <%ce>');
    };
    expect(await save(async () => undefined)).toBe('Test User <test@example.com> / Test User <test@example.com>');
    expect(
      await save(async (repo) => {
        await git(repo, 'config', '--unset', 'user.name');
        await git(repo, 'config', '--unset', 'user.email');
      }),
    ).toBe('orch <orch@localhost> / orch <orch@localhost>');
  });

  it('saveLeftovers: the message reaches git as it is, the agent’s own commits count, a dependency’s do not', async () => {
    const repo = await tempRepo();
    const base = await git(repo, 'rev-parse', 'HEAD');
    const root = await tempDir();
    const dependency = path.join(root, 'dep');
    const worktree = path.join(root, 'wt');
    await ensureWorktree(repo, dependency, 'orch/r/dep', base);
    await writeFile(path.join(dependency, 'dep.txt'), 'dep\n');
    await commitLeftovers(dependency, 'dependency work');
    await ensureWorktree(repo, worktree, 'orch/r/task', base);
    await mergeBranches(worktree, ['orch/r/dep'], () => 'merge dep');
    await writeFile(path.join(worktree, 'own.txt'), 'own\n');
    await git(worktree, 'add', 'own.txt');
    await git(worktree, 'commit', '-q', '-m', 'the agent’s own');
    await writeFile(path.join(worktree, 'left.txt'), 'left\n');
    const message = 'orch: "$HOME" `id` $(id) \\ it\'s * ; exit 3';
    const saved = await saveLeftovers(worktree, message, base, ['orch/r/dep']);
    expect(saved.committed).toBe(true);
    expect(saved.commits.map((commit) => commit.subject)).toEqual(['the agent’s own', message]);
  });

  it('saveLeftovers: its commit skips the second look at every file, and no git after it is told nothing changed', async () => {
    const repo = await tempRepo({ 'tracked.txt': 'v1\n', 'other.txt': 'o1\n' });
    const base = await git(repo, 'rev-parse', 'HEAD');
    const worktree = path.join(await tempDir(), 'wt');
    await ensureWorktree(repo, worktree, 'orch/r/task', base);
    // A user's setting for another monitor's protocol changes nothing (orch pins version 2).
    await git(repo, 'config', 'core.fsmonitorHookVersion', '1');
    const seen = path.join(await tempDir(), 'seen');
    // The post-commit hook inherits orch's settings: it changes a tracked file and asks git
    // (git's status, with the same monitor setting) what differs.
    await writeFile(
      path.join(repo, '.git', 'hooks', 'post-commit'),
      `#!/bin/sh\necho v2 > tracked.txt\ngit status --porcelain > "${seen}"\n`,
      { mode: 0o755 },
    );
    await writeFile(path.join(worktree, 'left.txt'), 'left\n');
    await writeFile(path.join(worktree, 'other.txt'), 'o2\n');
    const trace = path.join(await tempDir(), 'trace');
    process.env.GIT_TRACE2_PERF = trace;
    let saved: Awaited<ReturnType<typeof saveLeftovers>>;
    try {
      saved = await saveLeftovers(worktree, 'orch: left over', base);
    } finally {
      delete process.env.GIT_TRACE2_PERF;
    }
    expect(saved.committed).toBe(true);
    expect((await git(repo, 'show', '--name-only', '--format=', 'orch/r/task')).split('\n').sort()).toEqual(['left.txt', 'other.txt']);
    expect(await readFile(seen, 'utf8')).toBe(' M tracked.txt\n');
    // The commit was answered "nothing changed since add -A" (no file looked at again); every other
    // question got "everything may have changed".
    const answers = (await readFile(trace, 'utf8')).split('\n').filter((line) => /apply_count|trivial-response/.test(line));
    expect(answers.map((line) => (/apply_count/.test(line) ? 'nothing' : 'everything'))).toEqual(['everything', 'nothing', 'everything']);
    // A git without the setting, later, sees a change made after the save.
    await writeFile(path.join(worktree, 'other.txt'), 'o3\n');
    expect((await git(worktree, 'diff', '--name-only')).split('\n')).toEqual(['other.txt', 'tracked.txt']);
  });

  it('saveLeftovers: a failed step says which and git’s own words', async () => {
    const { worktree, base, hooks } = await leftoverWithRefusingHook();
    await expect(saveLeftovers(worktree, 'orch: left over', base)).rejects.toThrow(
      /git commit --no-verify -m orch: left over exited 1: no commits today/,
    );
    await expect(saveLeftovers(worktree, 'orch: left over', '0'.repeat(40))).rejects.toThrow(/git commit/);
    await rm(path.join(hooks, 'prepare-commit-msg'));
    await expect(saveLeftovers(worktree, 'orch: left over', 'no-such-base')).rejects.toThrow(/git log exited 128: fatal: .*no-such-base/);
  });

  it('a commit that fails for another reason says git’s own words', async () => {
    const { worktree } = await leftoverWithRefusingHook();
    await expect(commitLeftovers(worktree, 'orch: left over')).rejects.toThrow(/git commit --no-verify -m orch: left over exited 1/);
  });
});

describe('mergeBranches', () => {
  it('merges dependencies in; a conflict (said on git’s output only) fails with it and leaves the worktree as it was', async () => {
    const repo = await tempRepo({ 'shared.txt': 'base\n' });
    const base = await git(repo, 'rev-parse', 'HEAD');
    const root = await tempDir();
    const first = path.join(root, 'first');
    const second = path.join(root, 'second');
    const task = path.join(root, 'task');
    for (const [worktree, text] of [
      [first, 'first\n'],
      [second, 'second\n'],
    ] as const) {
      await ensureWorktree(repo, worktree, `orch/r/${path.basename(worktree)}`, base);
      await writeFile(path.join(worktree, 'shared.txt'), text);
      await git(worktree, 'commit', '-q', '-am', path.basename(worktree));
    }
    await ensureWorktree(repo, task, 'orch/r/task', base);
    const message = (branch: string): string => `orch: merge ${branch}`;
    await mergeBranches(task, ['orch/r/first'], message);
    expect(await git(task, 'log', '-1', '--format=%s')).toBe('first');
    const head = await git(task, 'rev-parse', 'HEAD');
    await expect(mergeBranches(task, ['orch/r/second'], message)).rejects.toThrow(
      'merging orch/r/second failed: CONFLICT (content): Merge conflict in shared.txt',
    );
    expect(await git(task, 'rev-parse', 'HEAD')).toBe(head);
    expect(await git(task, 'status', '--porcelain', '--untracked-files=all')).toBe('');
  });
});

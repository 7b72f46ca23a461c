import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RefsGuard, type GuardReport } from '../../src/executor/guard.js';
import { GitMutex } from '../../src/worktree/mutex.js';
import { isOnBranch, readRefFiles, readRefs, readRefsWithGit } from '../../src/worktree/refs.js';
import { git, tempRepo } from '../support/git.js';
import { guardSpec, GUARD_RUN } from '../support/guard.js';
import { tempDir } from '../support/tmp.js';

async function setUp(): Promise<{ repo: string; guard: RefsGuard; head: string; dir: string; reports: GuardReport[] }> {
  const repo = await tempRepo();
  const dir = await tempDir('orch-guard-');
  const head = (await git(repo, 'rev-parse', 'HEAD')).trim();
  return { repo, guard: new RefsGuard(repo, GUARD_RUN, new GitMutex(path.join(dir, 'state'))), head, dir, reports: [] };
}

describe('the refs guard reads refs without the git lock', () => {
  it('a record read while a restore was under way is made again: the restore is not undone at its check', async () => {
    const { repo, guard, head, dir, reports } = await setUp();
    const report = async (found: GuardReport): Promise<void> => void reports.push(found);
    const stray = 'refs/heads/stray';
    await git(repo, 'update-ref', stray, head);
    const mover = guard.begin(guardSpec(repo, 'mover', head), report);
    const other = guard.begin(guardSpec(repo, 'other', head), report);
    // The other attempt's record starts reading first; the mover's check restores meanwhile.
    const file = path.join(dir, 'other.refs.json');
    const recording = other.record(file);
    const restoring = guard.restore(mover, [{ ref: stray, action: 'created', after: head }], 'orch: refs guard: put back after task mover');
    expect(await restoring).toEqual([]);
    await recording;
    expect(Object.keys(JSON.parse(await readFile(file, 'utf8')).refs as object)).not.toContain(stray);
    // Its agent changed nothing: its check finds nothing, and brings back nothing the restore removed.
    expect(await other.check([], { worktree: false })).toEqual({ changes: [], problems: [] });
    expect(Object.keys(await readRefs(repo))).not.toContain(stray);
    expect(reports).toEqual([]);
  });

  it('an agent that changed a ref outside its branch is still caught and put back by the check', async () => {
    const { repo, guard, head, dir, reports } = await setUp();
    const attempt = guard.begin(guardSpec(repo, 'agent', head), async (found) => void reports.push(found));
    await attempt.record(path.join(dir, 'agent.refs.json'));
    await git(repo, 'tag', 'v1');
    await git(repo, 'branch', '--force', 'side', head);
    const result = await attempt.check([], { worktree: false });
    expect(result?.changes).toEqual([
      { ref: 'refs/heads/side', action: 'created', after: head },
      { ref: 'refs/tags/v1', action: 'created', after: head },
    ]);
    expect(Object.keys(await readRefs(repo))).toEqual(['refs/heads/main']);
    expect(reports.flatMap((found) => found.changes)).toEqual(result?.changes);
  });

  it('a record waits for a restore under way, and reads what it left', async () => {
    const { repo, guard, head, dir } = await setUp();
    const stray = 'refs/tags/stray';
    await git(repo, 'update-ref', stray, head);
    const mover = guard.begin(guardSpec(repo, 'mover', head), async () => undefined);
    const other = guard.begin(guardSpec(repo, 'other', head), async () => undefined);
    const restoring = guard.restore(mover, [{ ref: stray, action: 'created', after: head }], 'orch: refs guard: test');
    const file = path.join(dir, 'other.refs.json');
    await Promise.all([restoring, other.record(file)]);
    expect(Object.keys(JSON.parse(await readFile(file, 'utf8')).refs as object)).not.toContain(stray);
  });
});

describe('isOnBranch', () => {
  it('reads a worktree’s HEAD file, and asks git whenever that does not say the branch', async () => {
    const repo = await tempRepo();
    const worktree = path.join(await tempDir('orch-wt-'), 'wt');
    await git(repo, 'worktree', 'add', '-q', '-b', 'task', worktree);
    expect(await isOnBranch(worktree, 'refs/heads/task')).toBe(true);
    expect(await isOnBranch(worktree, 'refs/heads/main')).toBe(false);
    expect(await isOnBranch(repo, 'refs/heads/main')).toBe(true);
    await git(worktree, 'checkout', '-q', '--detach');
    expect(await isOnBranch(worktree, 'refs/heads/task')).toBe(false);
    await git(worktree, 'checkout', '-q', '-b', 'elsewhere');
    expect(await isOnBranch(worktree, 'refs/heads/task')).toBe(false);
    expect(await isOnBranch(worktree, 'refs/heads/elsewhere')).toBe(true);
  });
});

describe('readRefFiles: the refs as git for-each-ref lists them, read from git’s files', () => {
  const same = async (repo: string): Promise<void> => {
    const fromFiles = readRefFiles(path.join(repo, '.git'));
    expect(fromFiles).toBeDefined();
    expect(JSON.stringify(fromFiles)).toBe(JSON.stringify(await readRefsWithGit(repo)));
    expect(JSON.stringify(await readRefs(repo))).toBe(JSON.stringify(fromFiles));
  };

  it('loose, packed, loose over packed, annotated tags, notes, remote symbolic refs, in git’s order; lock files skipped', async () => {
    const repo = await tempRepo();
    const head = (await git(repo, 'rev-parse', 'HEAD')).trim();
    await same(repo);
    await git(repo, 'branch', 'a/b-c_d.e');
    await git(repo, 'tag', '-a', '-m', 'annotated', 'v1.0');
    await git(repo, 'tag', 'light');
    await git(repo, 'notes', 'add', '-m', 'a note');
    await git(repo, 'update-ref', 'refs/remotes/origin/main', head);
    await git(repo, 'symbolic-ref', 'refs/remotes/origin/HEAD', 'refs/remotes/origin/main');
    await git(repo, 'update-ref', 'refs/bisect/bad', head);
    await same(repo);
    await git(repo, 'pack-refs', '--all');
    await same(repo);
    await writeFile(path.join(repo, 'README.md'), 'moved\n');
    await git(repo, 'commit', '-qam', 'moved');
    await git(repo, 'branch', '-f', 'a/b-c_d.e', 'HEAD');
    await git(repo, 'branch', 'Zeta');
    await git(repo, 'branch', '-D', 'light').catch(() => undefined);
    await git(repo, 'tag', '-d', 'light');
    await same(repo);
    await writeFile(path.join(repo, '.git', 'refs', 'heads', 'main.lock'), `${head}\n`);
    await same(repo);
  });

  it('asks git when anything is unusual: a broken symbolic ref, an odd name, odd content, a symbolic link, reftable', async () => {
    const unusual = async (change: (repo: string, head: string) => Promise<unknown>): Promise<void> => {
      const repo = await tempRepo();
      const head = (await git(repo, 'rev-parse', 'HEAD')).trim();
      await change(repo, head);
      expect(readRefFiles(path.join(repo, '.git'))).toBeUndefined();
      expect(JSON.stringify(await readRefs(repo))).toBe(JSON.stringify(await readRefsWithGit(repo)));
    };
    await unusual((repo) => git(repo, 'symbolic-ref', 'refs/heads/dangling', 'refs/heads/nothing'));
    await unusual((repo, head) => git(repo, 'update-ref', 'refs/heads/café', head));
    await unusual((repo) => writeFile(path.join(repo, '.git', 'refs', 'heads', 'junk'), 'not a ref\n'));
    await unusual((repo) => symlink('main', path.join(repo, '.git', 'refs', 'heads', 'linked')));
    await unusual((repo) => mkdir(path.join(repo, '.git', 'reftable')));
  });

  it('a ref naming a commit missing from the object store is listed, as git lists it', async () => {
    const repo = await tempRepo();
    const missing = 'f'.repeat(40);
    await writeFile(path.join(repo, '.git', 'refs', 'heads', 'broken'), `${missing}\n`);
    expect(readRefFiles(path.join(repo, '.git'))?.['refs/heads/broken']).toBe(missing);
    await same(repo);
  });
});

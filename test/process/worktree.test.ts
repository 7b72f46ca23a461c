import { mkdir, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkoutWorktree, ensureWorktree, registerWorktree } from '../../src/worktree/git.js';
import { GitMutex } from '../../src/worktree/mutex.js';
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

describe('worktrees made side by side (registration under the git lock, checkout outside it)', () => {
  it('many at once, from two lock holders as two orch processes would be: git worktree list and git fsck stay consistent', async () => {
    const files: Record<string, string> = { 'README.md': '# r\n' };
    for (let i = 0; i < 200; i++) files[`src/dir${i % 10}/file${i}.txt`] = `content ${i}\n`;
    const repo = await tempRepo(files);
    const base = await git(repo, 'rev-parse', 'HEAD');
    const root = await tempDir();
    const stateDir = path.join(repo, '.gadugi');
    const mutexes = [new GitMutex(stateDir), new GitMutex(stateDir)];
    const ids = Array.from({ length: 16 }, (_, index) => `t${index}`);
    const made = await Promise.all(
      ids.map(async (id, index) => {
        const worktree = path.join(root, id);
        const how = await mutexes[index % 2]!.run(() => registerWorktree(repo, worktree, `orch/r/${id}`, base));
        return { how, checkedOut: await checkoutWorktree(worktree) };
      }),
    );
    expect(made.every(({ how, checkedOut }) => how === 'created' && checkedOut)).toBe(true);

    const listed = await git(repo, 'worktree', 'list', '--porcelain');
    for (const id of ids) expect(listed).toContain(`worktree ${path.join(root, id)}\nHEAD ${base}\nbranch refs/heads/orch/r/${id}\n`);
    expect(listed).not.toMatch(/prunable|locked/);
    for (const id of ids) {
      const worktree = path.join(root, id);
      expect(await git(worktree, 'status', '--porcelain', '--untracked-files=all')).toBe('');
      expect(await readFile(path.join(worktree, 'src/dir3/file123.txt'), 'utf8')).toBe('content 123\n');
    }
    expect(await git(repo, 'fsck', '--full', '--strict', '--no-dangling')).toBe('');
  });

  it('a checkout that never finished (killed in the middle) is done again; a finished one is left alone', async () => {
    const repo = await tempRepo({ 'a.txt': 'a\n', 'd/b.txt': 'b\n' });
    const base = await git(repo, 'rev-parse', 'HEAD');
    const worktree = path.join(await tempDir(), 'task');
    expect(await registerWorktree(repo, worktree, 'orch/r/task', base)).toBe('created');
    // Registered, nothing checked out yet: what a crash between the two steps leaves, with a stale index.lock.
    expect(await readdir(worktree)).toEqual(['.git']);
    const gitDir = path.join(repo, '.git', 'worktrees', 'task');
    await writeFile(path.join(gitDir, 'index.lock'), '');
    expect(await registerWorktree(repo, worktree, 'orch/r/task', base)).toBe('reused');
    expect(await checkoutWorktree(worktree)).toBe(true);
    expect(await git(worktree, 'status', '--porcelain', '--untracked-files=all')).toBe('');
    expect(await readFile(path.join(worktree, 'd/b.txt'), 'utf8')).toBe('b\n');

    // Checked out: the agent's work in it is never touched again.
    await writeFile(path.join(worktree, 'a.txt'), 'changed by the agent\n');
    await rm(path.join(worktree, 'd/b.txt'));
    expect(await checkoutWorktree(worktree)).toBe(false);
    expect(await readFile(path.join(worktree, 'a.txt'), 'utf8')).toBe('changed by the agent\n');
    expect((await git(worktree, 'status', '--porcelain')).split('\n')).toEqual([' M a.txt', ' D d/b.txt']);
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

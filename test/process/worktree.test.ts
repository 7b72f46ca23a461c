import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureWorktree } from '../../src/worktree/git.js';
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

import { execFileSync } from 'node:child_process';
import { mkdir, realpath, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRootFromFiles } from '../../src/worktree/repo-root.js';
import { git, tempRepo } from '../support/git.js';
import { tempDir } from '../support/tmp.js';

const isRoot = process.getuid?.() === 0;
const env = { PATH: process.env.PATH };

/** What git itself says the top of the work tree is. */
async function gitsAnswer(cwd: string): Promise<string> {
  return git(cwd, 'rev-parse', '--show-toplevel');
}

describe('the repository root from the files git keeps', () => {
  it('gives git’s answer from the top, a subfolder, a symbolic link to one and a linked worktree; a submodule (its config sets core.worktree) is left to git', async () => {
    const repo = await tempRepo({ 'README.md': '# r\n', 'src/deep/a.txt': 'a\n' });
    const links = await tempDir();
    await symlink(path.join(repo, 'src', 'deep'), path.join(links, 'deep'));
    const worktree = path.join(await tempDir(), 'linked');
    await git(repo, 'worktree', 'add', '-q', '-b', 'other', worktree);
    await mkdir(path.join(worktree, 'sub'));
    const inner = await tempRepo();
    await git(repo, '-c', 'protocol.file.allow=always', 'submodule', 'add', '-q', inner, 'mod');
    for (const cwd of [repo, path.join(repo, 'src', 'deep'), path.join(links, 'deep'), worktree, path.join(worktree, 'sub')]) {
      const found = await repoRootFromFiles(cwd, env);
      expect(found, cwd).toBeDefined();
      expect(found, cwd).toBe(await gitsAnswer(cwd));
    }
    expect(await gitsAnswer(path.join(repo, 'mod'))).toBe(await realpath(path.join(repo, 'mod')));
    expect(await repoRootFromFiles(path.join(repo, 'mod'), env)).toBeUndefined();
  });

  it('leaves to git whatever could make it answer otherwise', async () => {
    const repo = await tempRepo();
    // git's variables for where the repository is.
    for (const name of ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_CEILING_DIRECTORIES', 'GIT_CONFIG_COUNT'])
      expect(await repoRootFromFiles(repo, { ...env, [name]: '/elsewhere' }), name).toBeUndefined();
    // A work tree set in the config, an included config, per-worktree configs.
    for (const setting of [
      ['core.worktree', '/elsewhere'],
      ['include.path', 'more.conf'],
      ['extensions.worktreeConfig', 'true'],
    ]) {
      const other = await tempRepo();
      await git(other, 'config', setting[0]!, setting[1]!);
      expect(await repoRootFromFiles(other, env), setting[0]).toBeUndefined();
    }
    // A bare repository, inside it and inside a .git folder; no repository at all; a .git file naming nothing.
    const bare = path.join(await tempDir(), 'bare.git');
    execFileSync('git', ['init', '-q', '--bare', bare]);
    expect(await repoRootFromFiles(bare, env)).toBeUndefined();
    expect(await repoRootFromFiles(path.join(repo, '.git'), env)).toBeUndefined();
    expect(await repoRootFromFiles(await tempDir(), env)).toBeUndefined();
    const odd = await tempDir();
    await writeFile(path.join(odd, '.git'), 'not a gitdir line\n');
    expect(await repoRootFromFiles(odd, env)).toBeUndefined();
  });

  it.runIf(isRoot)('leaves to git a repository another user owns (git refuses it unless it is marked safe)', async () => {
    const repo = await tempRepo();
    expect(await repoRootFromFiles(repo, env)).toBe(await gitsAnswer(repo));
    execFileSync('chown', ['-R', '12345:12345', repo]);
    expect(await repoRootFromFiles(repo, env)).toBeUndefined();
  });
});

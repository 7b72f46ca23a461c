import { execa } from 'execa';
import { tempDir, writeFiles } from './tmp.js';

export async function git(cwd: string, ...args: string[]): Promise<string> {
  const result = await execa('git', args, { cwd });
  return result.stdout;
}

/** A temporary git repository with one commit holding `files`. */
export async function tempRepo(files: Record<string, string> = { 'README.md': '# test repo\n' }): Promise<string> {
  const dir = await tempDir('orch-repo-');
  await git(dir, 'init', '-q', '-b', 'main');
  await git(dir, 'config', 'user.name', 'Test User');
  await git(dir, 'config', 'user.email', 'test@example.com');
  await git(dir, 'config', 'commit.gpgsign', 'false');
  await writeFiles(dir, files);
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '-q', '-m', 'initial');
  return dir;
}

export interface ListedWorktree {
  path: string;
  branch?: string;
  head?: string;
  detached: boolean;
  /** Git still marks it locked (a `git worktree add` under way, or killed). */
  locked: boolean;
}

/** `git worktree list --porcelain`, one entry per worktree (the main one first). */
export async function listedWorktrees(repo: string): Promise<ListedWorktree[]> {
  const output = await git(repo, 'worktree', 'list', '--porcelain');
  return output
    .split('\n\n')
    .filter(Boolean)
    .map((block) => {
      const lines = block.split('\n');
      const value = (key: string): string | undefined => lines.find((line) => line.startsWith(`${key} `))?.slice(key.length + 1);
      const branch = value('branch')?.replace(/^refs\/heads\//, '');
      const head = value('HEAD');
      return {
        path: value('worktree')!,
        ...(branch ? { branch } : {}),
        ...(head ? { head } : {}),
        detached: lines.includes('detached'),
        locked: lines.some((line) => line === 'locked' || line.startsWith('locked ')),
      };
    });
}

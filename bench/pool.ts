/**
 * The warm worktree pool as the benchmarks meet it: whether the orch under test has it (`orch
 * clean --no-pool`), how to make `orch clean` remove rather than pool, and how many worktrees a
 * repository holds in its pool. Asked of the built orch itself, so the rows say what they
 * measured when the bench runs against an orch from before the pool.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const orchBin = path.join(here, '..', 'bin', 'orch.js');

let asked: boolean | undefined;

/** Whether the built orch has the warm pool (`worktree.pool`, `orch clean --no-pool`); asked once. */
export function poolExists(): boolean {
  asked ??= execFileSync(process.execPath, [orchBin, 'clean', '--help'], { encoding: 'utf8' }).includes('--no-pool');
  return asked;
}

/** The `orch clean` arguments that remove every clean worktree instead of pooling it; `how` names them for the row. */
export function removingClean(): { args: string[]; how: string } {
  return poolExists()
    ? { args: ['clean', '--no-pool'], how: 'orch clean --no-pool' }
    : { args: ['clean'], how: 'orch clean (this orch has no pool: it removes)' };
}

/**
 * The worktrees `repo` holds in its pool: linked worktrees on a detached HEAD (a pooled worktree
 * belongs to no branch) in a `.pool` folder, as `git worktree list` shows them.
 */
export function pooledWorktrees(repo: string): number {
  const listing = execFileSync('git', ['worktree', 'list', '--porcelain'], { cwd: repo, encoding: 'utf8' });
  const entries = listing.split('\n\n').filter((entry) => entry.trim() !== '');
  // The first entry is the repository's own working tree.
  return entries
    .slice(1)
    .filter(
      (entry) => /^detached$/m.test(entry) && path.basename(path.dirname(entry.split('\n')[0]!.slice('worktree '.length))) === '.pool',
    ).length;
}

/** The linked worktrees of `repo` (every worktree but its own working tree). */
export function linkedWorktrees(repo: string): string[] {
  const listing = execFileSync('git', ['worktree', 'list', '--porcelain'], { cwd: repo, encoding: 'utf8' });
  return listing
    .split('\n')
    .filter((line) => line.startsWith('worktree '))
    .map((line) => line.slice('worktree '.length))
    .slice(1);
}

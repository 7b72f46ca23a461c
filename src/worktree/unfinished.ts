import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { pathExists } from '../util/fs.js';
import { worktreeGitDir } from './pool.js';

/**
 * A worktree orch registered but has not finished checking out (see registerWorktree and
 * fillWorktree in git.ts) is locked with this reason. Here, apart from git.ts, so that `orch
 * clean` can ask without loading simple-git and execa.
 */
export const CHECKOUT_UNDER_WAY = 'orch: checkout under way';

/**
 * Whether this worktree's checkout never finished: still locked by `registerWorktree` with
 * CHECKOUT_UNDER_WAY, or (a git older than 2.33, stopped between registering and locking it) not
 * locked, never checked out (no index) and holding nothing but its `.git` file. No agent has
 * worked in such a worktree: agents start only after the checkout has finished.
 */
export async function checkoutUnfinished(worktree: string): Promise<boolean> {
  const gitDir = await worktreeGitDir(worktree).catch(() => undefined);
  if (gitDir === undefined) return false;
  const reason = await readFile(path.join(gitDir, 'locked'), 'utf8').catch(() => undefined);
  if (reason !== undefined) return reason.replace(/\n$/, '') === CHECKOUT_UNDER_WAY;
  if (await pathExists(path.join(gitDir, 'index'))) return false;
  return (await readdir(worktree)).every((name) => name === '.git');
}

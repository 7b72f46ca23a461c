import path from 'node:path';
import { UserError } from '../errors.js';
import { branchExists, listWorktrees } from '../worktree/git.js';
import { gitAt } from '../worktree/simple-git.js';
import { isAncestor } from './git-merge.js';

/** The worktree a branch is checked out in, if any (the user's own checkout, typically). */
async function checkedOutIn(root: string, branch: string): Promise<string | undefined> {
  return (await listWorktrees(root)).find((entry) => entry.branch === branch && !entry.prunable)?.path;
}

/** Changes to tracked files (untracked ones cannot be lost by a fast-forward: git refuses to overwrite them). */
async function isDirty(worktree: string): Promise<boolean> {
  return (await gitAt(worktree).raw(['status', '--porcelain', '--untracked-files=no'])).trim() !== '';
}

/** `--into <branch>` before anything is done: the branch exists, and is not checked out with uncommitted changes. */
export async function checkInto(root: string, branch: string): Promise<void> {
  if (!(await branchExists(root, branch)))
    throw new UserError(`--into "${branch}" is not a branch of this repository: name an existing branch (e.g. main).`);
  const worktree = await checkedOutIn(root, branch);
  if (worktree && (await isDirty(worktree))) {
    throw new UserError(
      `--into ${branch}: it is checked out in ${worktree} with uncommitted changes; commit or stash them, then run again.`,
    );
  }
}

export type IntoResult = { moved: true; from: string; to: string } | { moved: false; reason: string };

/**
 * Moves `branch` to `to` only as a fast-forward, never forced: in the worktree that has it
 * checked out (only when that worktree is clean, with `git merge --ff-only`), else by updating
 * the ref with a check of its old value. Anything else is refused with the reason, and nothing
 * changes.
 */
export async function fastForward(root: string, branch: string, to: string): Promise<IntoResult> {
  const git = gitAt(root);
  const from = (await git.raw(['rev-parse', '--verify', `refs/heads/${branch}`])).trim();
  if (from === to) return { moved: true, from, to };
  if (!(await isAncestor(root, from, to))) {
    return {
      moved: false,
      reason: `${branch} has commits the integration branch does not have (it is at ${from.slice(0, 9)}): not a fast-forward`,
    };
  }
  const worktree = await checkedOutIn(root, branch);
  if (worktree) {
    if (await isDirty(worktree))
      return { moved: false, reason: `${branch} is checked out in ${path.resolve(worktree)} with uncommitted changes` };
    await gitAt(worktree).raw(['merge', '--ff-only', to]);
  } else {
    await git.raw(['update-ref', '-m', `orch: fast-forward to the integration branch`, `refs/heads/${branch}`, to, from]);
  }
  return { moved: true, from, to };
}

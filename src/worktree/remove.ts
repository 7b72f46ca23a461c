import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { errorCode } from '../errors.js';
import { runGroups } from './list.js';
import { pathExists } from '../util/fs.js';
import { worktreeGitDir } from './pool.js';

/**
 * Removing many worktrees at once, for `orch clean`, after it has decided each one may go (its
 * work is saved, or --force). A `git worktree remove` per worktree costs a git process (and, without
 * --force, a second one for its own status check) for what comes down to deleting a folder and
 * git's record of it. Here each worktree is renamed into the worktree root's `.removing/` folder
 * (one rename: at its path the worktree is whole or gone, never half-deleted), git forgets the
 * worktrees whose folders are gone with one `git worktree prune`, and the folders there are deleted
 * by a few `rm -rf` meanwhile. A clean killed at any point leaves either worktrees as they were, or
 * folders in `.removing/`, whole or partly deleted (deleted by the next clean), and records git
 * prunes (the next clean's prune).
 */

/** The folder worktrees of `worktreeRoot` are renamed into just before they are deleted (never a run id: those never start with a dot). */
export function removingDir(worktreeRoot: string): string {
  return path.join(path.resolve(worktreeRoot), '.removing');
}

/**
 * Renames a worktree into `removing` (the caller holds the git mutex). Returns false, changing
 * nothing, for a worktree the rename cannot remove the way git would: one git locked (`git
 * worktree lock`), one that is not a linked worktree, or one on another file system; the caller
 * asks `git worktree remove --force` for those.
 */
export async function moveAside(removing: string, worktree: string): Promise<boolean> {
  let gitDir: string;
  try {
    gitDir = await worktreeGitDir(worktree);
  } catch {
    return false;
  }
  // A linked worktree's own folder lives under the common git folder's `worktrees/`; a locked one holds `locked`.
  if (path.basename(path.dirname(gitDir)) !== 'worktrees' || (await pathExists(path.join(gitDir, 'locked')))) return false;
  const destination = path.join(removing, `${path.basename(worktree)}-${randomBytes(4).toString('hex')}`);
  // The folder is made first; one emptied and removed meanwhile by another clean (it removes
  // `.removing` once empty) is made again.
  for (let tries = 1; ; tries++) {
    await mkdir(removing, { recursive: true });
    try {
      await rename(worktree, destination);
      return true;
    } catch (error) {
      if (errorCode(error) === 'EXDEV') return false;
      if (errorCode(error) === 'ENOENT' && tries < 3 && (await pathExists(worktree))) continue;
      throw error;
    }
  }
}

/** rm processes deleting side by side: deleting is mostly waiting on the file system, which takes several requests at once faster than one after another. */
const RM_PROCESSES = 4;

/**
 * Deletes what `removing` folders hold (worktrees moved aside by this clean, or by one killed before
 * it could delete them), not the folders themselves: a worktree may be moved into one while this
 * runs (see `removeEmptied`).
 */
export async function emptyRemoving(removingDirs: Iterable<string>): Promise<void> {
  const held: string[] = [];
  for (const dir of new Set(removingDirs)) {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (error) {
      if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') continue;
      throw error;
    }
    held.push(...names.map((name) => path.join(dir, name)));
  }
  // rm deletes a large tree faster than Node's recursive rm; a few of them at once, each with its
  // share of the worktrees, faster than one; all started by one shell (runGroups).
  const groups: string[][] = Array.from({ length: Math.min(RM_PROCESSES, held.length) }, () => []);
  held.forEach((entry, index) => groups[index % groups.length]!.push(entry));
  const results = await runGroups('rm -rf -- "$@" 2>&1', groups);
  const failed = results.find((result) => result.exitCode !== 0);
  if (failed) throw new Error(`rm -rf failed: ${failed.stdout.trim()}`);
}

/**
 * Removes `removing` folders that are empty (or a file in their place); one that holds something
 * (a worktree another clean moved there since) stays, for that clean or the next to delete.
 */
export async function removeEmptied(removingDirs: Iterable<string>): Promise<void> {
  await Promise.all(
    [...new Set(removingDirs)].map((dir) =>
      rmdir(dir).catch(async (error: unknown) => {
        if (errorCode(error) === 'ENOTDIR') await rm(dir, { force: true });
        else if (errorCode(error) !== 'ENOENT' && errorCode(error) !== 'ENOTEMPTY' && errorCode(error) !== 'EEXIST') throw error;
      }),
    ),
  );
}

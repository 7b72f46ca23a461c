import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { errorCode } from '../errors.js';
import { execFile } from '../process/exec-file.js';
import { pathExists } from '../util/fs.js';
import { worktreeGitDir } from './pool.js';

/**
 * Removing many worktrees at once, for `orch clean`, after it has decided each one may go (its
 * work is saved, or --force). A `git worktree remove` per worktree costs a git process (and, without
 * --force, a second one for its own status check) for what comes down to deleting a folder and
 * git's record of it. Here each worktree is renamed into the worktree root's `.removing/` folder
 * (one rename: at its path the worktree is whole or gone, never half-deleted), the folders there
 * are deleted with one `rm -rf`, and git forgets the worktrees whose folders are gone with one
 * `git worktree prune`. A clean killed at any point leaves either worktrees as they were, or
 * folders in `.removing/` (deleted by the next clean) and records git prunes.
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
  await mkdir(removing, { recursive: true });
  try {
    await rename(worktree, path.join(removing, `${path.basename(worktree)}-${randomBytes(4).toString('hex')}`));
    return true;
  } catch (error) {
    if (errorCode(error) === 'EXDEV') return false;
    throw error;
  }
}

/** rm processes deleting side by side: deleting is mostly waiting on the file system, which takes several requests at once faster than one after another. */
const RM_PROCESSES = 4;

/** Deletes `removing` folders and what they hold (worktrees moved aside by this clean, or by one killed before it could delete them). */
export async function emptyRemoving(removingDirs: Iterable<string>): Promise<void> {
  const present: string[] = [];
  const held: string[] = [];
  for (const dir of new Set(removingDirs)) {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') continue;
      if (errorCode(error) !== 'ENOTDIR') throw error;
      names = [];
    }
    present.push(dir);
    held.push(...names.map((name) => path.join(dir, name)));
  }
  // rm deletes a large tree faster than Node's recursive rm; a few of them at once, each with its
  // share of the worktrees, faster than one.
  const groups: string[][] = Array.from({ length: Math.min(RM_PROCESSES, held.length) }, () => []);
  held.forEach((entry, index) => groups[index % groups.length]!.push(entry));
  await Promise.all(groups.map((group) => execFile('rm', ['-rf', '--', ...group])));
  // The folders themselves, empty by now.
  await Promise.all(present.map((dir) => rm(dir, { recursive: true, force: true })));
}

import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { errorCode } from '../errors.js';
import { execFile } from '../process/exec-file.js';
import { pathExists } from '../util/fs.js';
import { listWorktrees, statusLines, type WorktreeEntry } from './list.js';

/**
 * The warm pool: clean worktrees of finished tasks that `orch clean` keeps, detached, under
 * `<worktree root>/.pool/`, so a new task can take one and switch it to its branch (only files that
 * differ are rewritten; ignored files such as `node_modules` stay) instead of checking out the whole
 * repository again. A pooled worktree is a registered git worktree like any other: what makes it
 * pooled is only where it lives. Every function here runs under the git mutex. Its git commands go
 * through plain child_process (not simple-git, not execa): `orch clean` loads neither.
 */

/** The folder a worktree root keeps its pool in (never a run id: run ids never start with a dot). */
export function poolDir(worktreeRoot: string): string {
  return path.join(path.resolve(worktreeRoot), '.pool');
}

/** Whether a worktree's path is inside some pool folder (any worktree root's). */
export function isPooledPath(worktree: string): boolean {
  return path.basename(path.dirname(path.resolve(worktree))) === '.pool';
}

/** The repository's pooled worktrees (in every pool of it), usable ones only: registered, present, detached. */
export async function pooledWorktrees(root: string): Promise<WorktreeEntry[]> {
  const pooled: WorktreeEntry[] = [];
  for (const entry of await listWorktrees(root)) {
    if (!isPooledPath(entry.path) || entry.prunable || entry.branch !== undefined) continue;
    if (await pathExists(entry.path)) pooled.push(entry);
  }
  return pooled;
}

/**
 * Moves a pooled worktree of `pool` to `worktree` (a rename: same file system). Returns false
 * when the pool has none, or none that git will move (a worktree with submodules cannot be).
 * The worktree is still detached at its old commit, marked as taken from the pool until
 * `switchToNewBranch` has finished (a crash in between leaves the mark: the next attempt switches it).
 */
export async function takeFromPool(root: string, pool: string, worktree: string): Promise<boolean> {
  const candidates = (await pooledWorktrees(root)).filter((entry) => path.dirname(path.resolve(entry.path)) === path.resolve(pool));
  for (const entry of candidates) {
    const mark = path.join(await worktreeGitDir(entry.path), TAKEN_MARK);
    await writeFile(mark, `${worktree}\n`);
    await mkdir(path.dirname(worktree), { recursive: true });
    const moved = await execFile('git', ['worktree', 'move', entry.path, worktree], { cwd: root, reject: false });
    if (moved.exitCode === 0) return true;
    await rm(mark, { force: true });
  }
  return false;
}

/** Whether this worktree was taken from the pool and not yet switched to its branch (no agent has worked in it). */
export async function takenFromPool(worktree: string): Promise<boolean> {
  return pathExists(path.join(await worktreeGitDir(worktree), TAKEN_MARK));
}

/**
 * The part of a pooled worktree's switch that writes git's shared state, for callers that hold
 * the git lock: its new branch made (or reset) at `baseSha` (`git update-ref`: the worktree is
 * still detached, no agent has worked on that branch), and the branch and base written into the
 * worktree's taken mark, so that `pendingSwitch` tells `switchToNewBranch`, outside the lock,
 * what to switch to. The switch itself passes over every file of the tree (and, after it, every
 * folder for untracked files): under the lock, eight of them on a 50,000-file repository went
 * one after another.
 */
export async function claimNewBranch(root: string, worktree: string, branch: string, baseSha: string): Promise<void> {
  await execFile('git', ['update-ref', `refs/heads/${branch}`, baseSha], { cwd: root });
  await writeFile(path.join(await worktreeGitDir(worktree), TAKEN_MARK), `${worktree}\n${branch}\n${baseSha}\n`);
}

/** The branch and base `claimNewBranch` wrote for a worktree taken from the pool and not yet switched, if any. */
export async function pendingSwitch(worktree: string): Promise<{ branch: string; baseSha: string } | undefined> {
  let text: string;
  try {
    // (A worktree whose .git is gone has no switch pending: fillWorktree's own checks say what is wrong.)
    text = await readFile(path.join(await worktreeGitDir(worktree), TAKEN_MARK), 'utf8');
  } catch (error) {
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return undefined;
    throw error;
  }
  const [, branch, baseSha] = text.split('\n');
  return branch && baseSha ? { branch, baseSha } : undefined;
}

const TAKEN_MARK = 'orch-taken-from-pool';

/**
 * Puts a worktree whose work is safe (the caller checked: nothing uncommitted, no untracked file
 * but those orch copied in) into the pool: detached, so its branch is free to delete; the files
 * orch copied in that git does not ignore removed; moved under the pool folder. Returns where it
 * went, or undefined when git refused to move it (it stays where it was, detached).
 * `untracked: false` says the caller's `git status` found no untracked file at all: nothing to remove.
 */
export async function putInPool(
  root: string,
  pool: string,
  worktree: string,
  options: { untracked?: boolean } = {},
): Promise<string | undefined> {
  await execFile('git', ['checkout', '--quiet', '--detach'], { cwd: worktree });
  if (options.untracked !== false) await removeUntracked(worktree);
  await mkdir(pool, { recursive: true });
  const destination = path.join(pool, `${path.basename(worktree)}-${randomBytes(4).toString('hex')}`);
  const moved = await execFile('git', ['worktree', 'move', worktree, destination], { cwd: root, reject: false });
  if (moved.exitCode !== 0) return undefined;
  // One taken from the pool and put back before it was switched: in the pool, it is no longer taken.
  await rm(path.join(await worktreeGitDir(destination), TAKEN_MARK), { force: true });
  return destination;
}

/**
 * Switches a worktree taken from the pool to its task's new branch at `baseSha`: tracked files
 * become exactly the base's (only those that differ are written), and no untracked file that git
 * does not ignore is left. Ignored files stay: that is what the pool is for. `-B` because
 * `claimNewBranch` (or a crash) has left the branch made but the mark still there: no agent has
 * worked on it yet. Writes only this worktree's files, index and HEAD (its branch is claimed
 * already), so it needs no git lock and several run side by side.
 */
export async function switchToNewBranch(worktree: string, branch: string, baseSha: string): Promise<void> {
  await execFile('git', ['checkout', '--force', '--no-track', '-B', branch, baseSha], { cwd: worktree });
  await removeUntracked(worktree);
  await rm(path.join(await worktreeGitDir(worktree), TAKEN_MARK), { force: true });
}

/** A worktree's own folder in git's administrative area (where its HEAD and index live). */
export async function worktreeGitDir(worktree: string): Promise<string> {
  const dotGit = path.join(worktree, '.git');
  if ((await stat(dotGit)).isDirectory()) return dotGit;
  const text = await readFile(dotGit, 'utf8');
  const match = /^gitdir: (.+)$/m.exec(text);
  if (!match) throw new Error(`${dotGit} does not name a git folder`);
  return path.resolve(worktree, match[1]!.trim());
}

/** `git clean -d -f`: untracked files and folders git does not ignore (nested repositories stay). */
async function removeUntracked(worktree: string): Promise<void> {
  await execFile('git', ['clean', '-d', '--force', '--quiet'], { cwd: worktree });
}

/**
 * Removes pooled worktrees beyond the first `keep`. Without `--force`: git refuses a worktree
 * with modified or untracked files (ignored ones do not count), which a pooled worktree can only
 * have if someone worked in it by hand; that one is reported as refused and stays.
 */
export async function trimPool(root: string, keep: number): Promise<Array<{ path: string; removed: boolean; reason?: string }>> {
  const results: Array<{ path: string; removed: boolean; reason?: string }> = [];
  for (const entry of (await pooledWorktrees(root)).slice(keep)) {
    const removal = await execFile('git', ['worktree', 'remove', entry.path], { cwd: root, reject: false });
    if (removal.exitCode === 0) results.push({ path: entry.path, removed: true });
    else
      results.push({
        path: entry.path,
        removed: false,
        reason:
          String(removal.stderr)
            .trim()
            .split('\n')[0]
            ?.replace(/^fatal: /, '') ?? '',
      });
  }
  return results;
}

/**
 * Pools a worktree whose work is all saved, if the pool has room: nothing uncommitted and no
 * untracked file but `copiedFiles` (orch's copies). Returns whether it was pooled; when not, the
 * caller removes it as before. (A worktree detached but not moved is still the caller's to remove.)
 */
export async function poolIfSaved(
  root: string,
  pool: string,
  capacity: number,
  worktree: string,
  copiedFiles: readonly string[],
): Promise<boolean> {
  if (capacity <= 0 || (await pooledWorktrees(root)).length >= capacity) return false;
  const copied = new Set(copiedFiles);
  const lines = await statusLines(worktree);
  const unsaved = lines.map((line) => line.slice(3).replace(/^"|"$/g, '')).filter((file) => !copied.has(file));
  if (unsaved.length > 0) return false;
  return (await putInPool(root, pool, worktree, { untracked: lines.length > 0 })) !== undefined;
}

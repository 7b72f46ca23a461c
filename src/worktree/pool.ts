import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { errorCode } from '../errors.js';
import { execFile } from '../process/exec-file.js';
import { pathExists } from '../util/fs.js';
import { commonDirOf } from './common-dir.js';
import { listWorktrees, runGroups, statusLines, type WorktreeEntry } from './list.js';

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
    const gitDir = await worktreeGitDir(entry.path);
    const marks = [path.join(gitDir, TAKEN_MARK), path.join(gitDir, FROM_POOL_MARK)];
    await Promise.all(marks.map((mark) => writeFile(mark, `${worktree}\n`)));
    await mkdir(path.dirname(worktree), { recursive: true });
    const moved = await execFile('git', ['worktree', 'move', entry.path, worktree], { cwd: root, reject: false });
    if (moved.exitCode === 0) return true;
    await Promise.all(marks.map((mark) => rm(mark, { force: true })));
  }
  return false;
}

/**
 * Whether this worktree was ever taken from the warm pool. Unlike the taken mark, this one stays
 * after the switch: an orch that stopped between the switch and the record of the task's
 * preparation leaves a worktree its next attempt reuses, and the task's record still says where
 * its worktree came from. (A task's worktree path is its own, so a reused one is the same task's.)
 */
export async function cameFromPool(worktree: string): Promise<boolean> {
  return pathExists(path.join(await worktreeGitDir(worktree), FROM_POOL_MARK));
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
const FROM_POOL_MARK = 'orch-from-pool';

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
  return (await putEachInPool(root, pool, [{ worktree, untracked: options.untracked }]))[0];
}

/** Detaching worktrees for the pool: groups side by side (git processes run on both cores). */
const DETACH_GROUPS = 4;

/**
 * `putInPool` for several worktrees: each is detached (and its untracked files removed) in a group
 * of its own, all at once (each touches only its own worktree, HEAD and index), then they are moved
 * into the pool one after another; each step is one `sh` started from node (`runGroups`), not a
 * process from node per worktree and step. Returns where each went, or undefined for one git
 * refused to move (it stays where it was, detached). A detach that fails fails the call once all
 * have finished.
 */
export async function putEachInPool(
  root: string,
  pool: string,
  worktrees: ReadonlyArray<{ worktree: string; untracked?: boolean | undefined }>,
): Promise<Array<string | undefined>> {
  if (worktrees.length === 0) return [];
  // Four groups side by side, each detaching its share one after another.
  const detach =
    'while [ $# -gt 0 ]; do git -C "$1" checkout --quiet --detach 2>&1 || exit; [ "$2" = none ] || git -C "$1" clean -d --force --quiet 2>&1 || exit; shift 2; done';
  const groups: string[][] = Array.from({ length: Math.min(DETACH_GROUPS, worktrees.length) }, () => []);
  worktrees.forEach(({ worktree, untracked }, index) =>
    groups[index % groups.length]!.push(worktree, untracked === false ? 'none' : 'some'),
  );
  const failed = (await runGroups(detach, groups)).find((result) => result.exitCode !== 0);
  if (failed) throw new Error(`git could not detach a worktree to pool it: ${failed.stdout.trim()}`);
  await mkdir(pool, { recursive: true });
  const destinations = worktrees.map(({ worktree }) => path.join(pool, `${path.basename(worktree)}-${randomBytes(4).toString('hex')}`));
  // One move after another, each one's exit status on a line.
  const move = 'r=$1; shift; while [ $# -gt 0 ]; do git -C "$r" worktree move "$1" "$2" >/dev/null 2>&1; echo "$?"; shift 2; done';
  const [moves] = await runGroups(move, [[root, ...worktrees.flatMap(({ worktree }, index) => [worktree, destinations[index]!])]]);
  const codes = moves!.stdout.split('\n');
  return Promise.all(
    destinations.map(async (destination, index) => {
      if (codes[index] !== '0') return undefined;
      // One taken from the pool and put back before it was switched: in the pool, it is no longer taken.
      await rm(path.join(await worktreeGitDir(destination), TAKEN_MARK), { force: true });
      return destination;
    }),
  );
}

/**
 * The repository's common git folder as git finds it from `root` (the top of its work tree) when
 * its environment does not point elsewhere: `root/.git`, a folder or a file naming one, and that
 * folder's `commondir` when it has one (a linked worktree's). Anything else: git is asked
 * (`commonDirOf`). No process in the usual case: node forks itself for each one.
 */
async function commonDirFromFiles(root: string): Promise<string> {
  if (process.env.GIT_DIR !== undefined || process.env.GIT_COMMON_DIR !== undefined) return commonDirOf(root);
  const dotGit = path.join(root, '.git');
  const info = await stat(dotGit).catch(() => undefined);
  let gitDir: string | undefined;
  if (info?.isDirectory()) gitDir = dotGit;
  else if (info?.isFile()) {
    const named = /^gitdir: (.+)$/m.exec(await readFile(dotGit, 'utf8'))?.[1]?.trim();
    if (named !== undefined) gitDir = path.resolve(root, named);
  }
  if (gitDir === undefined) return commonDirOf(root);
  const common = await readFile(path.join(gitDir, 'commondir'), 'utf8').catch(() => undefined);
  return common === undefined ? gitDir : path.resolve(gitDir, common.trim());
}

/**
 * How many worktrees git has registered in a pool folder, read from git's own files as `git
 * worktree list` reads them (each `<common dir>/worktrees/<name>/gitdir` names a linked worktree's
 * `.git` file), without its process: never fewer than `pooledWorktrees` finds (which also leaves out
 * those missing, prunable or on a branch), so 0, or no more than a pool may hold, answers the
 * question exactly when it is the usual one.
 */
export async function pooledRegistrations(root: string): Promise<number> {
  const registrations = path.join(await commonDirFromFiles(root), 'worktrees');
  const names = await readdir(registrations).catch((error: unknown) => {
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return [] as string[];
    throw error;
  });
  const pooled = await Promise.all(
    names.map(async (name) => {
      const admin = path.join(registrations, name);
      // Absolute, or relative to the registration (git's worktree.useRelativePaths).
      const dotGit = (await readFile(path.join(admin, 'gitdir'), 'utf8').catch(() => '')).trim();
      return dotGit !== '' && isPooledPath(path.dirname(path.resolve(admin, dotGit)));
    }),
  );
  const linked = pooled.filter(Boolean).length;
  // The repository's own working tree is listed too (first), and counts when it sits in a pool folder.
  return linked + (isPooledPath(root) ? 1 : 0);
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

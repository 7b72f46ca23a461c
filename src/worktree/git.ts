import { constants, existsSync, readFileSync, readdirSync } from 'node:fs';
import { access, appendFile, mkdir, open, readFile, readdir, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { UserError, errorCode, errorFirstLine } from '../errors.js';
import { ExitError, execFile, type FileRun } from '../process/exec-file.js';
import { pathExists } from '../util/fs.js';
import { commonDirOf, gitCommonDir } from './common-dir.js';
import { atLeast, gitVersion } from './git-version.js';
import { claimNewBranch, pendingSwitch, switchToNewBranch, takeFromPool, takenFromPool, worktreeGitDir } from './pool.js';
import { CHECKOUT_UNDER_WAY, checkoutUnfinished } from './unfinished.js';

export { CHECKOUT_UNDER_WAY, checkoutUnfinished };

// orch's own git calls never start a background gc or maintenance in the middle of a run.
const QUIET = ['gc.auto=0', 'maintenance.auto=false', 'core.quotePath=false'];

/**
 * git with orch's quiet settings (and `extraConfig`), through plain child_process: the per-task
 * path's git calls go here rather than through simple-git (its 50 ms wait after silent output,
 * its own processing of each call) or execa. Rejects (an ExitError) when git exits non-zero,
 * unless `reject` is false.
 */
export function quietGit(
  dir: string,
  args: readonly string[],
  options: { extraConfig?: readonly string[]; reject?: boolean } = {},
): Promise<FileRun> {
  const config = [...QUIET, ...(options.extraConfig ?? [])].flatMap((setting) => ['-c', setting]);
  return execFile('git', [...config, ...args], { cwd: dir, reject: options.reject });
}

/**
 * Resolves a ref to a commit SHA, or undefined if it names no commit (`--quiet` makes git say
 * nothing then; any other failure is git's own error, reported as such).
 */
export async function resolveCommit(root: string, ref: string): Promise<string | undefined> {
  const result = await execFile('git', ['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`], {
    cwd: root,
    reject: false,
  });
  if (result.exitCode === 0) return String(result.stdout).trim() || undefined;
  const stderr = String(result.stderr).trim();
  if (stderr) throw new UserError(`cannot resolve "${ref}": ${errorFirstLine(stderr).replace(/^fatal: /, '')}`);
  return undefined;
}

/** The branch `ref` names (`main` for "main" or "refs/heads/main"; the current branch for "HEAD"), if it names one. */
export async function branchOf(root: string, ref: string): Promise<string | undefined> {
  const name =
    ref === 'HEAD'
      ? // On a detached HEAD git says nothing and exits 1.
        await currentBranch(root)
      : ref.replace(/^refs\/heads\//, '');
  return name && (await branchExists(root, name)) ? name : undefined;
}

export { gitCommonDir };

/** The branch HEAD is on ('' when detached: git then exits 1 without a word; anything else is git's error). */
async function currentBranch(root: string): Promise<string> {
  const result = await quietGit(root, ['symbolic-ref', '--quiet', '--short', 'HEAD'], { reject: false });
  if (result.exitCode === 0) return result.stdout.trim();
  if (result.exitCode === 1 && !result.stderr.trim()) return '';
  throw new ExitError('git symbolic-ref HEAD', result.exitCode, result.stderr, result.stdout);
}

/** Adds `.gadugi/` to the repository's `info/exclude`, once, so orch's state never shows in `git status`. */
export async function excludeStateDir(root: string, entry = '/.gadugi/'): Promise<void> {
  const infoDir = path.join(await gitCommonDir(root), 'info');
  const exclude = path.join(infoDir, 'exclude');
  let current = '';
  try {
    current = await readFile(exclude, 'utf8');
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
  }
  if (current.split('\n').some((line) => line.trim() === entry || line.trim() === '.gadugi/' || line.trim() === '.gadugi')) return;
  await mkdir(infoDir, { recursive: true });
  await appendFile(exclude, `${current && !current.endsWith('\n') ? '\n' : ''}# orch state\n${entry}\n`);
}

/** Whether the local branch exists (`git show-ref --verify`: exit 1 when it does not; any other failure is git's error). */
export async function branchExists(root: string, branch: string): Promise<boolean> {
  const shown = await quietGit(root, ['show-ref', '--verify', '--quiet', `refs/heads/${branch}`], { reject: false });
  if (shown.exitCode === 0) return true;
  if (shown.exitCode === 1 && !shown.stderr.trim()) return false;
  throw new ExitError(`git show-ref refs/heads/${branch}`, shown.exitCode, shown.stderr, shown.stdout);
}

// Listing worktrees and their status: plain child_process, shared with orch clean (which loads neither simple-git nor execa).
export { listWorktrees, statusLines, type WorktreeEntry } from './list.js';

/**
 * Makes sure the task's worktree exists on its branch, checked out: `registerWorktree`, then
 * `fillWorktree`, for callers that hold the git lock for both (the merge queue). Reuses it when
 * it is already there (a retry, a resume), re-attaches an existing branch, takes one from the warm
 * pool (`pool`: its folder) and switches it to a new branch at the base, or creates branch and
 * worktree from the base.
 */
export async function ensureWorktree(
  root: string,
  worktree: string,
  branch: string,
  baseSha: string,
  pool?: string,
): Promise<'created' | 'reused' | 'reattached' | 'pooled'> {
  const how = await registerWorktree(root, worktree, branch, baseSha, pool);
  await fillWorktree(worktree);
  return how;
}

/**
 * What `git worktree add` does for a new worktree, in two steps: this one writes git's shared
 * state (the worktree's registration and its branch ref: `git worktree add --no-checkout`), which
 * is what callers serialize (see GitMutex); `fillWorktree` then checks it out without the lock, so
 * several checkouts proceed at once. Until its checkout has finished, a worktree registered here
 * is locked (`git worktree lock`) with the reason CHECKOUT_UNDER_WAY: git writes that lock before
 * anything else of the worktree and `git worktree prune` leaves a locked worktree alone, so a
 * crash at any point leaves either nothing or a worktree the next `fillWorktree` finishes.
 * Returns how the worktree came to be, as ensureWorktree does; a worktree already registered
 * (whether or not its checkout has finished) is 'reused'. `git` gives the installed git's version. A worktree taken from the warm pool
 * ('pooled') gets its branch here, under the lock (claimNewBranch); `fillWorktree` switches its files.
 */
export async function registerWorktree(
  root: string,
  worktree: string,
  branch: string,
  baseSha: string,
  pool?: string,
  git: () => Promise<string> = gitVersion,
  checkoutAtOnce: (root: string) => Promise<boolean> = smallRepository,
): Promise<'created' | 'reused' | 'reattached' | 'pooled'> {
  const resolved = path.resolve(worktree);
  registering.set(resolved, (registering.get(resolved) ?? 0) + 1);
  try {
    return await register(root, resolved, branch, baseSha, pool, git, checkoutAtOnce);
  } finally {
    const left = (registering.get(resolved) ?? 1) - 1;
    if (left === 0) registering.delete(resolved);
    else registering.set(resolved, left);
  }
}

/** Registrations of this process under way, by worktree (how many). */
const registering = new Map<string, number>();

/**
 * Whether registerWorktree would only answer 'reused' for this worktree: registered and present,
 * not taken from the pool and left unswitched, and no registration of it under way in this
 * process. That answer reads git's files and writes nothing, so an attempt whose worktree was made
 * ahead of time starts without waiting for the git lock (held meanwhile by the next worktree made
 * ahead, or by other tasks' git work); anything else goes through registerWorktree under the lock.
 * A checkout still under way is left to fillWorktree, which waits for it.
 */
export async function registeredAlready(root: string, worktree: string): Promise<boolean> {
  const resolved = path.resolve(worktree);
  if (registering.has(resolved)) return false;
  const registered = await registrationOf(root, resolved);
  if (!registered?.present || registering.has(resolved)) return false;
  return !(await takenFromPool(resolved));
}

async function register(
  root: string,
  resolved: string,
  branch: string,
  baseSha: string,
  pool: string | undefined,
  git: () => Promise<string>,
  checkoutAtOnce: (root: string) => Promise<boolean>,
): Promise<'created' | 'reused' | 'reattached' | 'pooled'> {
  const registered = await registrationOf(root, resolved);
  if (registered?.present) {
    // Taken from the pool and not switched yet (by an orch that stopped before, or made ahead of
    // time and being switched by this process now): no agent has worked in it.
    if (await takenFromPool(resolved)) {
      if (!filling.has(resolved)) await claimNewBranch(root, resolved, branch, baseSha);
      return 'pooled';
    }
    return 'reused';
  }
  if (registered) {
    // Its folder is gone. One whose checkout never finished is still locked by orch: unlocked, so
    // that prune drops it (a worktree the user locked stays theirs, and git says so below).
    if (registered.locked === CHECKOUT_UNDER_WAY) await quietGit(root, ['worktree', 'unlock', resolved]);
    await quietGit(root, ['worktree', 'prune']);
  }
  if (!registered && (await pathExists(resolved))) {
    // Left over from an interrupted `git worktree add`: an empty folder goes, anything else is not ours to delete.
    if ((await readdir(resolved)).length > 0) throw new Error(`${resolved} exists but is not a git worktree: move it away, then run again`);
    await rmdir(resolved);
  }
  await mkdir(path.dirname(resolved), { recursive: true });
  const version = await git();
  const lock = lockArgs(version);
  // A small repository's checkout is done by the same `git worktree add` (see smallRepository),
  // still locked with orch's reason until it has finished: a crash leaves a worktree
  // fillWorktree checks out again, as after a registration without checkout.
  const atOnce = lock.length > 0 && (await checkoutAtOnce(root));
  const add = ['worktree', 'add', ...(atOnce ? [] : ['--no-checkout']), ...lock];
  // Whether the worktree was added; git's words when not. A checkout whose post-checkout hook
  // failed counts as added: git keeps such a worktree, still locked with orch's reason, and
  // fillWorktree checks it out and runs the hook again, and says how the hook failed.
  const addAt = async (args: readonly string[]): Promise<{ added: boolean; run: FileRun }> => {
    // With a checkout, git runs the post-checkout hook: without orch's `-c` settings, which git
    // would hand down to it (GIT_CONFIG_PARAMETERS), so it runs as under a user's own `git worktree add`.
    const run = atOnce ? await execFile('git', args, { cwd: root, reject: false }) : await quietGit(root, args, { reject: false });
    if (run.exitCode === 0) {
      if (atOnce) await rm(path.join(await worktreeGitDir(resolved), 'locked'), { force: true });
      return { added: true, run };
    }
    return { added: atOnce && (await registrationOf(root, resolved))?.present === true, run };
  };
  const failed = (args: readonly string[], run: FileRun): ExitError =>
    new ExitError(`git ${args.join(' ')}`, run.exitCode, run.stderr, run.stdout);
  let how: 'reattached' | 'created';
  // With nothing in the pool to take, the new branch is simply tried: `git worktree add -b` makes
  // the branch first (and nothing else when it exists already), so asking whether the branch exists
  // beforehand would cost every task a git process that only a retry or a resume needs.
  const poolHasSome = pool !== undefined && (await hasEntries(pool));
  const reattach = async (): Promise<void> => {
    const args = [...add, resolved, branch];
    const { added, run } = await addAt(args);
    if (!added) throw failed(args, run);
  };
  if (!poolHasSome) {
    const created = await addAt([...add, '-b', branch, resolved, baseSha]);
    if (created.added) how = 'created';
    else if (await branchExists(root, branch)) {
      await reattach();
      how = 'reattached';
    } else throw new ExitError(`git worktree add -b ${branch}`, created.run.exitCode, created.run.stderr, created.run.stdout);
  } else if (await branchExists(root, branch)) {
    await reattach();
    how = 'reattached';
  } else {
    if (await takeFromPool(root, pool, resolved)) {
      await claimNewBranch(root, resolved, branch, baseSha);
      return 'pooled';
    }
    const args = [...add, '-b', branch, resolved, baseSha];
    const { added, run } = await addAt(args);
    if (!added) throw failed(args, run);
    how = 'created';
  }
  // A git without `--reason` for add: locked now (see checkoutUnfinished for the moment between).
  if (!add.includes('--reason')) await quietGit(root, ['worktree', 'lock', '--reason', CHECKOUT_UNDER_WAY, resolved]);
  return how;
}

/**
 * At most this many entries in the repository's index, and a new worktree is checked out by the
 * `git worktree add` that registers it, under the git lock, instead of by fillWorktree outside it
 * (`git reset --hard`, then `git rev-parse` for the hook's path and HEAD): two git processes fewer
 * per task, started from orch's one thread. Measured on the 2-core machine, a whole `git worktree
 * add` took ~10 ms with 10 files, 20–40 ms with 300, 70–160 ms with 1,000 (a checkout outside the
 * lock of 1,000 files 30–190 ms): past a few hundred files, holding the lock for the checkout
 * delays the other tasks' registrations more than the two processes cost.
 */
export const CHECKOUT_AT_ONCE_MAX_ENTRIES = 200;

/**
 * Whether the repository is small enough for a worktree's checkout under the git lock: the entry
 * count in the header of its main index (`DIRC`, version, count), a 12-byte read. No index (a bare
 * repository) or one that cannot be read: not small, the checkout goes outside the lock.
 */
export async function smallRepository(root: string): Promise<boolean> {
  try {
    const handle = await open(path.join(await commonDirOf(root), 'index'), 'r');
    try {
      const header = Buffer.alloc(12);
      const { bytesRead } = await handle.read(header, 0, 12, 0);
      return bytesRead === 12 && header.toString('latin1', 0, 4) === 'DIRC' && header.readUInt32BE(8) <= CHECKOUT_AT_ONCE_MAX_ENTRIES;
    } finally {
      await handle.close();
    }
  } catch {
    return false;
  }
}

/** Whether a folder exists and holds anything (the pool: an absent or empty one has nothing to take). */
async function hasEntries(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length > 0;
  } catch (error) {
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return false;
    throw error;
  }
}

/**
 * Whether git has a worktree registered at `worktree` (an absolute, resolved path), read from
 * git's own files as `git worktree list` reads them, without its process (one per task start
 * otherwise): each `<common dir>/worktrees/<name>/gitdir` names the `.git` file of a registered
 * worktree, and `locked` there holds the lock's reason. `present`: the worktree's own `.git`
 * file names that registration back (the folder is there: git does not count it prunable). The
 * usual case, a worktree whose `.git` file names its registration, is answered from those two
 * files; otherwise every registration is read.
 */
export async function registrationOf(root: string, worktree: string): Promise<{ present: boolean; locked?: string } | undefined> {
  // Small files, read without a round trip to the thread pool per step: a new worktree's answer
  // reads every registration's `gitdir`, one per task of the run.
  const read = (file: string): string | undefined => {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return undefined;
    }
  };
  const pointsAt = (adminDir: string): string | undefined => {
    const target = read(path.join(adminDir, 'gitdir'))?.trim();
    return target ? path.resolve(adminDir, target) : undefined;
  };
  const dotGit = path.join(worktree, '.git');
  const found = (admin: string, present: boolean): { present: boolean; locked?: string } => {
    const locked = read(path.join(admin, 'locked'));
    return locked === undefined ? { present } : { present, locked: locked.replace(/\n$/, '') };
  };
  // The worktree's .git file, then the registration it names, naming it back.
  const named = read(dotGit);
  const admin = named === undefined ? undefined : /^gitdir: (.+)$/m.exec(named)?.[1]?.trim();
  if (admin !== undefined) {
    const adminDir = path.resolve(worktree, admin);
    if (pointsAt(adminDir) === dotGit) return found(adminDir, true);
  }
  const registrations = path.join(await commonDirOf(root), 'worktrees');
  let names: string[];
  try {
    names = readdirSync(registrations);
  } catch (error) {
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return undefined;
    throw error;
  }
  for (const name of names) {
    const adminDir = path.join(registrations, name);
    if (pointsAt(adminDir) === dotGit) return found(adminDir, existsSync(dotGit));
  }
  return undefined;
}

/**
 * How `git worktree add` locks a new worktree with orch's reason as it registers it: `--reason`
 * came with git 2.33; an older git's worktree is locked right after (`git worktree lock`).
 */
export function lockArgs(gitVersion: string): string[] {
  return atLeast(gitVersion, '2.33') ? ['--lock', '--reason', CHECKOUT_UNDER_WAY] : [];
}

/**
 * Removes a worktree whose checkout never finished (registered by an orch or a worker that died
 * before `fillWorktree` was done), for callers that tidy up after a dead process instead of
 * finishing its checkout: git refuses to move or remove it as it is (locked). No agent ever
 * worked in it, so nothing is lost; its branch stays. Returns whether it was one (and is gone).
 * Callers hold the git lock.
 */
export async function removeUnfinishedCheckout(root: string, worktree: string): Promise<boolean> {
  if (!(await checkoutUnfinished(worktree))) return false;
  await execFile('git', ['worktree', 'remove', '--force', '--force', worktree], { cwd: root });
  return true;
}

/** Checkouts of this process under way, by worktree: a second caller waits for the first. */
const filling = new Map<string, Promise<boolean>>();

/**
 * Finishes what `git worktree add` does after registering a worktree, for one that
 * `registerWorktree` left locked with CHECKOUT_UNDER_WAY: `git reset --hard
 * --no-recurse-submodules` in it (git's own checkout step, so its index, ORIG_HEAD and HEAD reflog
 * end up exactly as `git worktree add` leaves them), then the lock goes, then the post-checkout
 * hook runs as `git worktree add` runs it (see runPostCheckout). Needs no git lock: it writes only
 * this worktree's files, index and administrative folder. A checkout killed in the middle (its
 * stale index.lock, files half written) is done again from the start; a worktree not locked by
 * orch is left alone (nothing an agent did in it is ever touched). A worktree `registerWorktree`
 * took from the warm pool is switched to the branch it claimed for it instead (switchToNewBranch:
 * only the files that differ are written), likewise without the lock, so several switch at once.
 * Returns whether it checked anything out or switched it (also when it waited for another caller
 * that did).
 */
export function fillWorktree(worktree: string): Promise<boolean> {
  const resolved = path.resolve(worktree);
  let filled = filling.get(resolved);
  if (!filled) {
    filled = fill(resolved).finally(() => filling.delete(resolved));
    filling.set(resolved, filled);
  }
  return filled;
}

async function fill(worktree: string): Promise<boolean> {
  // Taken from the warm pool: switched to the branch registerWorktree claimed for it, outside the lock.
  const pending = await pendingSwitch(worktree);
  if (pending) {
    await switchToNewBranch(worktree, pending.branch, pending.baseSha);
    return true;
  }
  if (!(await checkoutUnfinished(worktree))) return false;
  const gitDir = await worktreeGitDir(worktree);
  // Only a git of an orch that is gone can have left it (this process waits for its own, above).
  await rm(path.join(gitDir, 'index.lock'), { force: true });
  const config = QUIET.flatMap((setting) => ['-c', setting]);
  const reset = await execFile('git', [...config, 'reset', '--hard', '--quiet', '--no-recurse-submodules'], {
    cwd: worktree,
    reject: false,
  });
  if (reset.exitCode !== 0)
    throw new Error(`git reset --hard in ${worktree} failed: ${errorFirstLine(String(reset.stderr) || String(reset.stdout))}`);
  await rm(path.join(gitDir, 'locked'), { force: true });
  // One git process for both answers: where the hook is, and the commit checked out.
  const [where = '', head = ''] = (
    await execFile('git', ['rev-parse', '--git-path', 'hooks/post-checkout', 'HEAD'], { cwd: worktree })
  ).stdout
    .trim()
    .split('\n');
  await runPostCheckout(worktree, path.resolve(worktree, where.trim()), head.trim());
  return true;
}

let execPath: Promise<string> | undefined;

/** `git --exec-path`, asked once per process. */
function gitExecPath(): Promise<string> {
  execPath ??= execFile('git', ['--exec-path']).then((result) => result.stdout.trim());
  return execPath;
}

/**
 * The post-checkout hook, run as `git worktree add` runs it once a new worktree is checked out:
 * in the worktree, with `<zero sha> <new HEAD> 1`, stdin closed, GIT_DIR and GIT_WORK_TREE unset,
 * git's exec path first on PATH (git ≥ 2.36 has `git hook run`, which would set GIT_DIR; orch
 * supports older git too). Where
 * the hook is comes from git (`core.hooksPath` included); one that is missing or not executable
 * is skipped, as git skips it. A hook that fails fails the checkout, as it fails `git worktree add`.
 */
async function runPostCheckout(worktree: string, hook: string, head: string): Promise<void> {
  try {
    await access(hook, constants.X_OK);
  } catch {
    return;
  }
  // What git adds to the environment of the commands it runs (its exec path first on PATH, the prefix).
  const execPath = await gitExecPath();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    GIT_EXEC_PATH: execPath,
    GIT_PREFIX: '',
    PATH: process.env.PATH ? `${execPath}${path.delimiter}${process.env.PATH}` : execPath,
  };
  delete env.GIT_DIR;
  delete env.GIT_WORK_TREE;
  const result = await runHook(hook, ['0'.repeat(head.length), head, '1'], worktree, env);
  if (result.exitCode !== 0) {
    const said = errorFirstLine(result.all.trim() || `exit ${result.exitCode ?? result.signal ?? '?'}`);
    throw new Error(`the post-checkout hook failed in ${worktree}: ${said}`);
  }
}

/** Runs a hook to its end, stdin closed, its output and errors together in the order they came (what it said). */
function runHook(
  file: string,
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<{ exitCode: number | null; signal: NodeJS.Signals | null; all: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, [...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const all: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => all.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => all.push(chunk));
    child.on('error', reject);
    child.on('close', (exitCode, signal) => resolve({ exitCode, signal, all: Buffer.concat(all).toString('utf8') }));
  });
}

/**
 * Settings for orch's own commits and merges: a fallback identity when the repository has none,
 * and no signing (they exist to keep work safe, and a passphrase prompt would hang or fail them;
 * the agents' own commits follow the user's configuration).
 */
export function ownCommitConfig(worktree: string): Promise<string[]> {
  let config = commitConfigs.get(worktree);
  if (!config) {
    config = readOwnCommitConfig(worktree);
    commitConfigs.set(worktree, config);
  }
  return config;
}

/** Read once per worktree and process: the merge queue commits many times in one. */
const commitConfigs = new Map<string, Promise<string[]>>();

async function readOwnCommitConfig(worktree: string): Promise<string[]> {
  // Neither set: git exits 1 without a word.
  const read = await quietGit(worktree, ['config', '--get-regexp', '^user\\.(name|email)$'], { reject: false });
  if (read.exitCode !== 0 && (read.exitCode !== 1 || read.stderr.trim()))
    throw new ExitError('git config --get-regexp user', read.exitCode, read.stderr, read.stdout);
  const configured = read.stdout;
  const config: string[] = ['commit.gpgsign=false'];
  if (!/^user\.name /m.test(configured)) config.push('user.name=orch');
  if (!/^user\.email /m.test(configured)) config.push('user.email=orch@localhost');
  return config;
}

/**
 * Commits whatever the agent left uncommitted onto the task branch, except `exclude` (files orch
 * copied in, like `.env`). Returns whether it made a commit.
 * Hooks are skipped: this commit exists to keep work safe, not to pass the user's linters.
 *
 * It looks at the working tree once, in `git add -A`, then asks whether the index now differs from
 * HEAD (`git diff --cached`, which reads no file of the tree). A `git status` first would be a
 * second pass over every file (`git commit` makes a third): on a 50,000-file repository that pass
 * cost 0.4–0.9 s per task while eight tasks saved their work at once.
 */
export async function commitLeftovers(worktree: string, message: string, exclude: readonly string[] = []): Promise<boolean> {
  await quietGit(worktree, ['add', '-A']);
  // Unstage the copies, as literal paths (a copy named `*.txt` must not unstage the agent's
  // files), a few hundred per call to stay within argv limits.
  for (let start = 0; start < exclude.length; start += 500) {
    const chunk = exclude.slice(start, start + 500).map((file) => `:(literal)${file}`);
    await quietGit(worktree, ['reset', '--quiet', '--', ...chunk]);
  }
  if (!(await stagedChanges(worktree))) return false;
  await commitWithOwnIdentity(worktree, ['commit', '--no-verify', '-m', message]);
  return true;
}

/**
 * What a finished attempt's work-saving needs, in one process started from orch instead of four:
 * commitLeftovers (`git add -A`, `git diff --cached`, `git commit` when the index differs), then
 * commitsSince (`git log`), run one after another by `sh`. Node forks itself for every process it
 * starts, on its one thread (~1–3 ms each from orch's process: the largest part of a run's CPU
 * profile); `sh` forks the same git processes from a process a fraction of orch's size. Each step
 * is the same git command with the same settings as the separate functions', and says the same
 * (ExitError naming the step, git's exit code and its words). A commit that fails is made again
 * as commitWithOwnIdentity makes it (the fallback identity when the configuration lacks one), and
 * the commits are then read on their own. With files orch copied in (`exclude`), the separate
 * functions run instead (their unstaging goes between the add and the diff).
 */
export async function saveLeftovers(
  worktree: string,
  message: string,
  baseSha: string,
  excludeBranches: readonly string[] = [],
  exclude: readonly string[] = [],
): Promise<{ committed: boolean; commits: CommitInfo[] }> {
  if (exclude.length > 0) {
    const committed = await commitLeftovers(worktree, message, exclude);
    return { committed, commits: await commitsSince(worktree, baseSha, excludeBranches) };
  }
  const ran = await execFile('sh', ['-c', SAVE_SCRIPT, 'sh', message, baseSha, ...excludeBranches], { cwd: worktree, reject: false });
  const lines = ran.stdout.split('\n');
  if (ran.exitCode === 0) {
    const committed = lines[0] === 'committed';
    return { committed, commits: parseCommits(lines.slice(1).join('\n')) };
  }
  // The last step (`git log`) replaces the sh (`exec`), so it says nothing of its own: a failure
  // after the first line was printed is that step's.
  const failed = /^failed (.+)$/m.exec(ran.stdout)?.[1] ?? (lines[0] === 'committed' || lines[0] === 'clean' ? 'log' : undefined);
  if (failed === 'commit') {
    // As commitWithOwnIdentity: the configuration read only now, and the commit made again with the fallback identity.
    const args = ['commit', '--no-verify', '-m', message];
    const config = await ownCommitConfig(worktree);
    if (config.length === 1) throw new ExitError(`git ${args.join(' ')}`, ran.exitCode, ran.stderr, '');
    await quietGit(worktree, args, { extraConfig: config });
    return { committed: true, commits: await commitsSince(worktree, baseSha, excludeBranches) };
  }
  throw new ExitError(failed ? `git ${failed}` : 'sh (saving the work)', ran.exitCode, ran.stderr, '');
}

/**
 * `git commit` after `git add -A` looks at every tracked file again (its refresh: an lstat per
 * file, ~30 ms of CPU on 50,000 files, and the same again in system time when eight run at once),
 * although what it commits is the index `add -A` has just written: the refresh only updates the
 * index's stat data, never what is staged. Git's own way to skip a pass is a file-system monitor
 * (`core.fsmonitor`, a hook that answers "what changed since <token>"); these two are given to those
 * two commands only, as orch's own `-c` (never the user's configuration), and are honest: `add -A`'s
 * always answers "everything may have changed" (`/`), so it looks at every file as before and
 * writes its token `$a` into the index; the commit's answers "nothing changed" only when asked
 * since exactly that token, and "everything" for any other. The commit then writes its own token
 * `$c` into the index, so any git run later with this setting (the commit's hooks inherit it)
 * is told "everything" and looks at every file. A git without the setting ignores the index's
 * token and drops it. `$a` and `$c` are set by SAVE_SCRIPT; the hook runs as `sh -c` with the
 * hook version and the token as its arguments (git appends `"$@"`). The hook protocol is pinned
 * to version 2 (git ≥ 2.26; orch needs 2.31): a `core.fsmonitorHookVersion=1` of the user's would
 * make git read these answers as lists of paths, and "everything" would no longer be said.
 */
const FSMONITOR_ADD = String.raw`core.fsmonitorHookVersion=2 -c "core.fsmonitor=f() { printf '$a\0/\0'; }; f"`;
const FSMONITOR_COMMIT = String.raw`core.fsmonitorHookVersion=2 -c "core.fsmonitor=f() { if [ \"\$2\" = $a ]; then printf '$c\0'; else printf '$c\0/\0'; fi; }; f"`;

// saveLeftovers' steps. $1: the commit message, $2: the base, then the branches whose commits are
// not the task's. A failed step prints `failed <step>` and exits with git's own exit code; the last
// one, `git log`, replaces the sh and exits with its own code after `committed` or `clean`.
const SAVE_SCRIPT = [
  `q='${QUIET.map((setting) => `-c ${setting}`).join(' ')}'`,
  'message=$1 base=$2',
  'shift 2',
  // The fsmonitor tokens of this save (see FSMONITOR_ADD): unique while this sh lives.
  'a=orch-$$-added c=orch-$$-committed',
  `git $q -c ${FSMONITOR_ADD} add -A || { s=$?; echo "failed add -A"; exit $s; }`,
  'git $q diff --cached --quiet --ignore-submodules=none',
  's=$?',
  'if [ $s -eq 1 ]; then',
  `  git $q -c commit.gpgsign=false -c user.useConfigOnly=true -c ${FSMONITOR_COMMIT} commit --no-verify -m "$message" >/dev/null || { s=$?; echo "failed commit"; exit $s; }`,
  '  echo committed',
  'elif [ $s -eq 0 ]; then echo clean',
  'else echo "failed diff --cached"; exit $s',
  'fi',
  // exec: the sh does not stay alive beside its last git process (orch's process tree is smaller by one sh).
  'exec git $q log --reverse --no-merges --format=%H%x1f%s HEAD --not "$base" "$@" --',
].join('\n');

/** Whether the worktree's index differs from its HEAD: what a commit would record. */
async function stagedChanges(worktree: string): Promise<boolean> {
  const diff = await quietGit(worktree, ['diff', '--cached', '--quiet', '--ignore-submodules=none'], { reject: false });
  if (diff.exitCode === 0) return false;
  if (diff.exitCode === 1 && !diff.stderr.trim()) return true;
  throw new ExitError('git diff --cached', diff.exitCode, diff.stderr, diff.stdout);
}

/**
 * `git commit` (`args`) with orch's own commit settings, asking git for the repository's identity
 * only when the commit needs it: the first try forbids git to guess one (`user.useConfigOnly`), so
 * it either commits as the configured user or fails without committing; a failure then reads the
 * configuration (ownCommitConfig) and, when it lacks a name or an email, commits again with the
 * fallback identity, as ownCommitConfig's settings would have from the start. Any other failure
 * is git's own. One git process per commit instead of two in the usual case.
 */
async function commitWithOwnIdentity(worktree: string, args: readonly string[]): Promise<void> {
  const first = await quietGit(worktree, args, { extraConfig: ['commit.gpgsign=false', 'user.useConfigOnly=true'], reject: false });
  if (first.exitCode === 0) return;
  const config = await ownCommitConfig(worktree);
  if (config.length === 1) throw new ExitError(`git ${args.join(' ')}`, first.exitCode, first.stderr, first.stdout);
  await quietGit(worktree, args, { extraConfig: config });
}

/**
 * Brings the work of a task's dependencies into its branch, so a dependent builds on what its
 * dependencies did. Idempotent (an already merged branch is a no-op). A conflict aborts the merge
 * and throws, leaving the worktree as it was.
 */
export async function mergeBranches(worktree: string, branches: readonly string[], message: (branch: string) => string): Promise<void> {
  if (branches.length === 0) return;
  const extraConfig = await ownCommitConfig(worktree);
  for (const branch of branches) {
    // A conflict: git exits 1 and says so on its output (CONFLICT …), not always on its errors.
    const merged = await quietGit(worktree, ['merge', '--no-edit', '--no-verify', '-m', message(branch), branch], {
      extraConfig,
      reject: false,
    });
    if (merged.exitCode === 0) continue;
    await quietGit(worktree, ['merge', '--abort'], { reject: false }).catch(() => undefined);
    const said =
      merged.stdout.split('\n').find((line) => line.startsWith('CONFLICT')) ??
      (merged.stderr.trim() || merged.stdout.trim() || `exit ${merged.exitCode ?? merged.signal ?? '?'}`);
    throw new Error(`merging ${branch} failed: ${errorFirstLine(said.replace(/^(fatal|error): /, ''))}`);
  }
}

export interface CommitInfo {
  sha: string;
  subject: string;
}

/**
 * The task's own commits, oldest first: on its branch since the base, leaving out what came from
 * its dependencies' branches (`exclude`) and orch's merges of them.
 */
export async function commitsSince(worktree: string, baseSha: string, exclude: readonly string[] = []): Promise<CommitInfo[]> {
  const { stdout: output } = await quietGit(worktree, [
    'log',
    '--reverse',
    '--no-merges',
    '--format=%H%x1f%s',
    'HEAD',
    '--not',
    baseSha,
    ...exclude,
    '--',
  ]);
  return parseCommits(output);
}

/** `git log --format=%H%x1f%s` lines as commits. */
function parseCommits(output: string): CommitInfo[] {
  return output
    .split('\n')
    .filter((line) => line.includes('\x1f'))
    .map((line) => {
      const [sha = '', subject = ''] = line.split('\x1f');
      return { sha, subject };
    });
}

/**
 * Removes a worktree's `index.lock` left behind by a git process that was killed (with its agent
 * or its orchestrator). Only call it when nothing alive can be using the worktree.
 */
export async function removeStaleIndexLock(worktree: string): Promise<boolean> {
  let gitDir: string;
  try {
    gitDir = path.resolve(worktree, (await quietGit(worktree, ['rev-parse', '--git-dir'])).stdout.trim());
  } catch {
    return false;
  }
  const lock = path.join(gitDir, 'index.lock');
  if (!(await pathExists(lock))) return false;
  await rm(lock, { force: true });
  return true;
}

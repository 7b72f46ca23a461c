import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { execFile } from '../process/exec-file.js';
import { errorCode, errorFirstLine } from '../errors.js';
import { listWorktrees } from './git.js';
import { isWatched, parseReflog, type RefChange, type RefSnapshot, type Transition } from './refs-guard.js';

/** The git side of the refs guard: read every ref, read reflogs, put refs back. */

async function git(cwd: string, args: readonly string[]): Promise<string> {
  return (await execFile('git', ['-c', 'gc.auto=0', ...args], { cwd })).stdout;
}

/** Every ref the guard watches (branches, tags, remote-tracking refs, notes…), with its commit or symbolic target. */
export async function readRefs(root: string): Promise<RefSnapshot> {
  const output = await git(root, ['for-each-ref', '--format=%(refname)%00%(objectname)%00%(symref)']);
  const refs: RefSnapshot = {};
  for (const line of output.split('\n')) {
    const [name, object, symref] = line.split('\0');
    if (!name || !isWatched(name)) continue;
    refs[name] = symref ? `ref: ${symref}` : (object ?? '');
  }
  return refs;
}

/** git's own first line of complaint, rather than the command line the error leads with. */
function gitComplaint(error: unknown): string {
  const stderr = typeof error === 'object' && error !== null && 'stderr' in error ? String(error.stderr).trim() : '';
  return errorFirstLine(stderr || error).replace(/^(fatal|error): /, '');
}

async function readTransitions(file: string): Promise<Transition[]> {
  try {
    return parseReflog(await readFile(file, 'utf8'));
  } catch (error) {
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return [];
    throw error;
  }
}

/**
 * For each of `refs` checked out in a worktree other than `exceptWorktree`: that worktree's HEAD
 * reflog (what was done in that checkout).
 */
export async function checkedOutReflogs(root: string, refs: readonly string[], exceptWorktree: string): Promise<Map<string, Transition[]>> {
  const wanted = new Set(refs);
  const found = new Map<string, Transition[]>();
  if (wanted.size === 0) return found;
  for (const entry of await listWorktrees(root)) {
    const ref = entry.branch === undefined ? undefined : `refs/heads/${entry.branch}`;
    if (!ref || !wanted.has(ref) || entry.prunable || path.resolve(entry.path) === path.resolve(exceptWorktree)) continue;
    let gitDir: string;
    try {
      gitDir = (await git(entry.path, ['rev-parse', '--absolute-git-dir'])).trim();
    } catch {
      continue;
    }
    found.set(ref, await readTransitions(path.join(gitDir, 'logs', 'HEAD')));
  }
  return found;
}

/** The reflogs of `refs` (from the repository's common git folder). */
export async function refReflogs(commonDir: string, refs: readonly string[]): Promise<Map<string, Transition[]>> {
  const found = new Map<string, Transition[]>();
  for (const ref of refs) found.set(ref, await readTransitions(path.join(commonDir, 'logs', ...ref.split('/'))));
  return found;
}

/**
 * Puts each change back: a created ref is deleted, a deleted one recreated, a moved one set back
 * (only if it still holds the value seen, so nothing moved since is overwritten). Objects are
 * never touched. Returns what could not be put back, one line each.
 */
export async function restoreRefs(root: string, changes: readonly RefChange[], message: string): Promise<string[]> {
  const problems: string[] = [];
  for (const change of changes) {
    const { ref, before, after } = change;
    try {
      if (before === undefined) {
        if (after?.startsWith('ref: ')) await git(root, ['symbolic-ref', '--delete', ref]);
        else await git(root, ['update-ref', '--no-deref', '-m', message, '-d', ref, ...(after ? [after] : [])]);
      } else if (before.startsWith('ref: ')) {
        await git(root, ['symbolic-ref', '-m', message, ref, before.slice(5)]);
      } else {
        const expected = after === undefined ? ['0'.repeat(before.length)] : after.startsWith('ref: ') ? [] : [after];
        await git(root, ['update-ref', '--no-deref', '-m', message, ref, before, ...expected]);
      }
    } catch (error) {
      problems.push(`could not put back ${ref}: ${gitComplaint(error)}`);
    }
  }
  return problems;
}

/**
 * Whether the worktree's HEAD is on `branchRef`, read from its HEAD file when that says so (no
 * git process); any other answer (another branch, a detached HEAD, a reftable repository whose
 * HEAD file names no branch, an unreadable file) is asked of git.
 */
export async function isOnBranch(worktree: string, branchRef: string): Promise<boolean> {
  try {
    const dotGit = path.join(worktree, '.git');
    const link = await readFile(dotGit, 'utf8').catch((error: unknown) => {
      // The main checkout: .git is the folder itself.
      if (errorCode(error) === 'EISDIR') return `gitdir: ${dotGit}`;
      throw error;
    });
    const gitDir = /^gitdir: (.+)$/m.exec(link)?.[1]?.trim();
    if (gitDir && (await readFile(path.resolve(worktree, gitDir, 'HEAD'), 'utf8')).trim() === `ref: ${branchRef}`) return true;
  } catch {
    // git knows.
  }
  return (await worktreeHead(worktree)) === branchRef;
}

/** What the worktree's HEAD is on: `refs/heads/<branch>`, or a commit id when detached. */
export async function worktreeHead(worktree: string): Promise<string> {
  const result = await execFile('git', ['symbolic-ref', '--quiet', 'HEAD'], { cwd: worktree, reject: false });
  if (result.exitCode === 0) return result.stdout.trim();
  return (await git(worktree, ['rev-parse', 'HEAD'])).trim();
}

/**
 * Puts an agent's worktree back on its branch after the agent left it elsewhere. Its work is not
 * lost: the caller has committed it where HEAD was; if that continues the branch, the branch
 * moves there (fast-forward), and the branch is checked out again (no hooks run).
 */
export async function switchBack(worktree: string, branchRef: string): Promise<void> {
  const head = (await git(worktree, ['rev-parse', 'HEAD'])).trim();
  const tip = (await git(worktree, ['rev-parse', branchRef])).trim();
  if (head !== tip && (await isAncestor(worktree, tip, head)))
    await git(worktree, ['update-ref', '-m', 'orch: keep the work of a switched worktree', branchRef, head, tip]);
  await git(worktree, ['-c', 'core.hooksPath=/dev/null', 'checkout', '--force', '--quiet', branchRef.replace(/^refs\/heads\//, '')]);
}

/** Whether `ancestor` is `descendant` or one of its ancestors. */
export async function isAncestor(root: string, ancestor: string, descendant: string): Promise<boolean> {
  const result = await execFile('git', ['merge-base', '--is-ancestor', ancestor, descendant], { cwd: root, reject: false });
  return result.exitCode === 0;
}

import { existsSync, readFileSync, readdirSync, type Dirent } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { execFile } from '../process/exec-file.js';
import { errorCode, errorFirstLine } from '../errors.js';
import { commonDirOf } from './common-dir.js';
import { listWorktrees } from './git.js';
import { isWatched, parseReflog, type RefChange, type RefSnapshot, type Transition } from './refs-guard.js';

/** The git side of the refs guard: read every ref, read reflogs, put refs back. */

async function git(cwd: string, args: readonly string[]): Promise<string> {
  return (await execFile('git', ['-c', 'gc.auto=0', ...args], { cwd })).stdout;
}

/**
 * Every ref the guard watches (branches, tags, remote-tracking refs, notes…), with its commit or
 * symbolic target: read from the files git keeps them in (readRefFiles) when they hold nothing
 * unusual, otherwise asked of git (`git for-each-ref`). Twice per attempt, a git process each
 * otherwise.
 */
export async function readRefs(root: string): Promise<RefSnapshot> {
  const commonDir = await commonDirOf(root);
  let fromFiles: RefSnapshot | undefined;
  try {
    fromFiles = readRefFiles(commonDir);
  } catch {
    // Unreadable (permissions…): git says what it can.
  }
  return fromFiles ?? readRefsWithGit(root);
}

/** `git for-each-ref`'s answer, filtered to the refs the guard watches. */
export async function readRefsWithGit(root: string): Promise<RefSnapshot> {
  const output = await git(root, ['for-each-ref', '--format=%(refname)%00%(objectname)%00%(symref)']);
  const refs: RefSnapshot = {};
  for (const line of output.split('\n')) {
    const [name, object, symref] = line.split('\0');
    if (!name || !isWatched(name)) continue;
    refs[name] = symref ? `ref: ${symref}` : (object ?? '');
  }
  return refs;
}

const OID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
// A ref name component git accepts, from a conservative set of characters: anything else (spaces,
// non-ASCII, `@{`…) sends the whole read to git, which knows its own rules.
const PLAIN_COMPONENT = /^[A-Za-z0-9_+,=@%-][A-Za-z0-9._+,=@%-]*$/;

function plainName(ref: string): boolean {
  return ref
    .split('/')
    .every((part) => PLAIN_COMPONENT.test(part) && !part.endsWith('.') && !part.endsWith('.lock') && !part.includes('..'));
}

/**
 * The shared refs as `git for-each-ref` lists them, read from the files backend's own files in
 * the common git folder: loose refs under `refs/` (a commit id, or `ref: <target>` for a symbolic
 * ref), then `packed-refs` for those not loose. Loose first, packed second, as git reads them: a
 * `git pack-refs` running meanwhile writes packed-refs before it deletes the loose files, so no
 * ref is missed (a loose file gone between the listing and its read is then in packed-refs).
 * In-progress lock files (`*.lock`) are skipped, as git skips them. Undefined, so that git is
 * asked, whenever anything is unusual: a reftable repository (or any `extensions.refStorage`), a
 * symbolic link or other special file under `refs/`, a name outside a plain set of characters, a
 * file that holds neither a commit id nor a `ref: refs/…` line, a symbolic ref whose target is not
 * there (git leaves such a broken ref out). A ref naming a commit missing from the object store
 * is listed, as git lists it (git 2.39, tested).
 */
export function readRefFiles(commonDir: string): RefSnapshot | undefined {
  // Small files in the page cache, read without a round trip to the thread pool per step (open,
  // stat, read, close): ~100 of them per attempt in a 32-task run.
  if (existsSync(path.join(commonDir, 'reftable'))) return undefined;
  let config = '';
  try {
    config = readFileSync(path.join(commonDir, 'config'), 'utf8');
  } catch {
    // None: nothing unusual in it.
  }
  if (/refstorage/i.test(config)) return undefined;
  const loose: RefSnapshot = {};
  const walk = (dir: string, prefix: string): boolean => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (error) {
      // A folder deleted meanwhile (git removes empty ones): its refs are gone or packed.
      if (errorCode(error) === 'ENOENT') return true;
      throw error;
    }
    for (const entry of entries) {
      const name = `${prefix}${entry.name}`;
      if (entry.isDirectory()) {
        if (!walk(path.join(dir, entry.name), `${name}/`)) return false;
        continue;
      }
      if (entry.name.endsWith('.lock')) continue;
      if (!entry.isFile() || !plainName(name)) return false;
      let text: string;
      try {
        text = readFileSync(path.join(dir, entry.name), 'utf8').trim();
      } catch (error) {
        if (errorCode(error) === 'ENOENT') continue;
        throw error;
      }
      if (OID.test(text)) loose[name] = text;
      else if (/^ref: refs\/\S+$/.test(text) && plainName(text.slice(5))) loose[name] = text;
      else return false;
    }
    return true;
  };
  if (!walk(path.join(commonDir, 'refs'), 'refs/')) return undefined;
  let packed = '';
  try {
    packed = readFileSync(path.join(commonDir, 'packed-refs'), 'utf8');
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
  }
  const all: RefSnapshot = {};
  for (const line of packed.split('\n')) {
    if (line === '' || line.startsWith('#') || line.startsWith('^')) continue;
    const match = /^(\S+) (refs\/\S+)$/.exec(line);
    if (!match || !OID.test(match[1]!) || !plainName(match[2]!)) return undefined;
    all[match[2]!] = match[1]!;
  }
  Object.assign(all, loose);
  const refs: RefSnapshot = {};
  for (const name of Object.keys(all).sort()) {
    const value = all[name]!;
    if (value.startsWith('ref: ') && !resolves(all, value.slice(5))) return undefined;
    if (isWatched(name)) refs[name] = value;
  }
  return refs;
}

/** Whether a symbolic ref's target leads to a commit id within `all` (at most a few hops, as git follows them). */
function resolves(all: RefSnapshot, target: string): boolean {
  let value: string | undefined = all[target];
  for (let hops = 0; hops < 5 && value !== undefined; hops++) {
    if (!value.startsWith('ref: ')) return true;
    value = all[value.slice(5)];
  }
  return false;
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

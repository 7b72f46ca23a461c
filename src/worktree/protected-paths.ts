import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { errorCode } from '../errors.js';

/** A folder's entry names, or undefined when there is no such folder. */
export type ListDir = (dir: string) => Promise<string[] | undefined>;

/**
 * Paths in the repository's git folder that a sandboxed agent must not write, although Claude
 * Code's sandbox opens the whole git folder to it (a commit in a linked worktree writes objects,
 * its own ref and its reflog there; the CLI itself protects `config` and `hooks`):
 * - the main checkout's HEAD, index and HEAD reflog, and `info/` (excludes, sparse-checkout): the
 *   user's checkout, and the reflog the refs guard trusts to tell the user's commits apart;
 * - `packed-refs`, and every ref folder or loose ref that exists now other than the agent's own
 *   branch and the folders that lead to it: other branches (other tasks' too), tags,
 *   remote-tracking refs, notes.
 * Only existing paths are named: the CLI binds /dev/null over a denied path that does not exist.
 * What this leaves writable: objects, the worktree's own folder, the agent's branch, reflogs
 * under logs/refs, and new refs next to its branch (which the refs guard removes).
 */
export async function protectedGitPaths(commonDir: string, ownBranch: string, list: ListDir = listDir): Promise<string[]> {
  const top = (await list(commonDir)) ?? [];
  const paths = ['HEAD', 'index', 'info', 'packed-refs'].filter((name) => top.includes(name)).map((name) => path.join(commonDir, name));
  const logs = (await list(path.join(commonDir, 'logs'))) ?? [];
  if (logs.includes('HEAD')) paths.push(path.join(commonDir, 'logs', 'HEAD'));

  // Down the path to refs/heads/<own branch>: at each level, everything but the next step.
  const steps = ['heads', ...ownBranch.split('/')];
  let dir = path.join(commonDir, 'refs');
  for (const [index, step] of steps.entries()) {
    const last = index === steps.length - 1;
    for (const entry of (await list(dir)) ?? []) {
      // Lock files come and go within milliseconds: binding one would outlive it.
      if (entry === step || entry.endsWith('.lock')) continue;
      paths.push(path.join(dir, entry));
    }
    if (last) break;
    dir = path.join(dir, step);
  }
  return paths;
}

async function listDir(dir: string): Promise<string[] | undefined> {
  try {
    return await readdir(dir);
  } catch (error) {
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return undefined;
    throw error;
  }
}

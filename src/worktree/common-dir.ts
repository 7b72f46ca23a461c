import path from 'node:path';
import { execFile } from '../process/exec-file.js';

const known = new Map<string, Promise<string>>();

/** `git rev-parse --git-common-dir`, resolved: the repository's common git folder. */
export async function gitCommonDir(root: string): Promise<string> {
  const dir = (await execFile('git', ['rev-parse', '--git-common-dir'], { cwd: root })).stdout.trim();
  return path.resolve(root, dir);
}

/**
 * The repository's common git folder, asked of git once per repository and process: it does not
 * move while orch runs, and each attempt needs it several times (sandbox settings, leftovers,
 * the refs guard) — each a git process otherwise. A failed answer is not kept.
 */
export function commonDirOf(root: string): Promise<string> {
  let dir = known.get(root);
  if (!dir) {
    dir = gitCommonDir(root);
    known.set(root, dir);
    dir.catch(() => known.delete(root));
  }
  return dir;
}

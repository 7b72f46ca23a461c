import { gitCommonDir } from './git.js';

const known = new Map<string, Promise<string>>();

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

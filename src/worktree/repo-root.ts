import { lstat, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';

/**
 * The top of the work tree containing `cwd`, found from the files git keeps, the way git finds it
 * (`git rev-parse --show-toplevel`) in the common case: the nearest folder upward holding a `.git`
 * folder (a repository) or a `.git` file naming one (a linked worktree, a submodule), owned by the
 * user orch runs as. undefined whenever anything could make git answer otherwise, and the caller
 * asks git: git's environment variables for where the repository is, a `core.worktree`, a bare
 * repository, an included or per-worktree config, another owner (git refuses those), another
 * file system on the way up, no repository at all (git's own words for that), or a `.git` that is
 * neither. Starting no process matters for a command that otherwise runs none (`orch status`):
 * node forks itself for each one.
 */
export async function repoRootFromFiles(cwd: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  if (ASKS_GIT.some((name) => env[name] !== undefined)) return undefined;
  const uid = process.getuid?.();
  if (uid === undefined) return undefined;
  let dir: string;
  try {
    dir = await realpath(cwd);
  } catch {
    return undefined;
  }
  const device = (await stat(dir)).dev;
  for (;;) {
    const here = await stat(dir);
    if (here.dev !== device) return undefined;
    const dotGit = path.join(dir, '.git');
    const found = await lstat(dotGit).catch(() => undefined);
    if (found?.isDirectory()) {
      return here.uid === uid && found.uid === uid && (await plainRepository(dotGit, dotGit)) ? dir : undefined;
    }
    if (found?.isFile()) {
      const gitDir = /^gitdir: (.+)$/m.exec(await readFile(dotGit, 'utf8'))?.[1]?.trim();
      if (gitDir === undefined) return undefined;
      const resolved = path.resolve(dir, gitDir);
      const owner = await stat(resolved).catch(() => undefined);
      if (here.uid !== uid || found.uid !== uid || owner?.uid !== uid) return undefined;
      const common = await readFile(path.join(resolved, 'commondir'), 'utf8').then(
        (text) => path.resolve(resolved, text.trim()),
        () => resolved,
      );
      return (await plainRepository(resolved, common)) ? dir : undefined;
    }
    if (found !== undefined) return undefined;
    // A folder that is itself a repository (bare, or a .git folder we stand in): git's to say.
    if (await isFile(path.join(dir, 'HEAD'))) return undefined;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** The variables with which git looks for the repository (or its config) elsewhere than from the folder. */
const ASKS_GIT = [
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_COMMON_DIR',
  'GIT_CEILING_DIRECTORIES',
  'GIT_DISCOVERY_ACROSS_FILESYSTEM',
  'GIT_CONFIG',
  'GIT_CONFIG_PARAMETERS',
  'GIT_CONFIG_COUNT',
];

/**
 * Whether a git folder is an ordinary repository's (or linked worktree's): it has a HEAD, and its
 * config sets no work tree, is not bare, includes no other file and keeps no per-worktree config.
 */
async function plainRepository(gitDir: string, commonDir: string): Promise<boolean> {
  if (!(await isFile(path.join(gitDir, 'HEAD')))) return false;
  const config = await readFile(path.join(commonDir, 'config'), 'utf8').catch(() => undefined);
  if (config === undefined) return false;
  return !/^\s*worktree\s*=|^\s*bare\s*=\s*true|^\s*\[\s*include|worktreeconfig/im.test(config);
}

async function isFile(file: string): Promise<boolean> {
  return (await stat(file).catch(() => undefined))?.isFile() === true;
}

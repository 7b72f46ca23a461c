import { lstat, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { execFile } from '../process/exec-file.js';
import { SANDBOX_PLACEHOLDERS } from '../agent/sandbox.js';
import { errorCode } from '../errors.js';

/**
 * While a sandboxed command runs, Claude Code puts empty read-only placeholder files where the
 * paths it protects do not exist — in the working directory (`.bashrc`, `.mcp.json`,
 * `.claude/settings.json`…) and `.git/config.lock` in the repository — and removes them when the
 * command ends. A CLI killed with SIGKILL in the middle of a command leaves them behind: the
 * placeholders would be committed as the agent's work, and the lock makes every `git config`
 * write in the repository fail. Only what matches a placeholder exactly is removed: an empty,
 * read-only regular file at one of those paths, not tracked by git.
 */
export async function removeSandboxLeftovers(worktree: string, commonDir: string, options: { configLock: boolean }): Promise<string[]> {
  const removed: string[] = [];
  const found: string[] = [];
  for (const file of await present(worktree, SANDBOX_PLACEHOLDERS)) if (await isPlaceholder(file)) found.push(file);
  if (found.length > 0) {
    const tracked = await execFile('git', ['ls-files', '-z', '--', ...found.map((file) => `:(literal)${path.relative(worktree, file)}`)], {
      cwd: worktree,
    });
    const trackedFiles = new Set(
      tracked.stdout
        .split('\0')
        .filter(Boolean)
        .map((file) => path.join(worktree, file)),
    );
    for (const file of found) {
      if (trackedFiles.has(file)) continue;
      await rm(file, { force: true });
      removed.push(file);
    }
  }
  const lock = path.join(commonDir, 'config.lock');
  if (options.configLock && (await isPlaceholder(lock))) {
    await rm(lock, { force: true });
    removed.push(lock);
  }
  return removed;
}

/**
 * Which of `names` (relative paths) exist under `root`: one listing per folder they are in, a
 * folder listed only when its parent has it (after every attempt, most of them exist nowhere).
 */
async function present(root: string, names: readonly string[]): Promise<string[]> {
  const listings = new Map<string, Promise<Set<string>>>();
  const list = (dir: string): Promise<Set<string>> => {
    let listing = listings.get(dir);
    if (!listing) {
      listing = (async () => {
        if (dir !== '.') {
          const parent = path.dirname(dir);
          if (!(await list(parent)).has(path.basename(dir))) return new Set<string>();
        }
        try {
          return new Set(await readdir(path.join(root, dir)));
        } catch (error) {
          if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return new Set<string>();
          throw error;
        }
      })();
      listings.set(dir, listing);
    }
    return listing;
  };
  const found: string[] = [];
  for (const name of names) if ((await list(path.dirname(name))).has(path.basename(name))) found.push(path.join(root, name));
  return found;
}

async function isPlaceholder(file: string): Promise<boolean> {
  try {
    const stats = await lstat(file);
    return stats.isFile() && stats.size === 0 && (stats.mode & 0o222) === 0;
  } catch (error) {
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return false;
    throw error;
  }
}

import { execFile, type FileRun } from '../process/exec-file.js';
import { UserError, errorFirstLine } from '../errors.js';
import { requireGit } from './git-version.js';
import { repoRootFromFiles } from './repo-root.js';

/**
 * The top of the git work tree containing `cwd`, or undefined outside a repository. Any other
 * failure (git missing or too old, a repository git refuses to use) is reported as it is.
 */
export async function findRepoRoot(cwd: string): Promise<string | undefined> {
  // Both at once (every command starts here); git's own verdict on its version comes first.
  // The files git keeps answer the common case without a git process (repo-root.ts).
  const [checked, found] = await Promise.allSettled([
    requireGit(),
    repoRootFromFiles(cwd, process.env).then((root): Promise<string | FileRun> =>
      root !== undefined ? Promise.resolve(root) : execFile('git', ['rev-parse', '--show-toplevel'], { cwd, reject: false }),
    ),
  ]);
  if (checked.status === 'rejected') throw checked.reason;
  if (found.status === 'rejected') throw found.reason;
  if (typeof found.value === 'string') return found.value;
  const result = found.value;
  if (result.exitCode === 0) return result.stdout.trim() || undefined;
  const stderr = result.stderr;
  if (/not a git repository/i.test(stderr)) return undefined;
  throw new UserError(`git cannot use the repository at ${cwd}: ${errorFirstLine(stderr).replace(/^fatal: /, '')}`);
}

/** Every tracked file, relative to the repository root. */
export async function listTrackedFiles(root: string): Promise<string[]> {
  const { stdout } = await execFile('git', ['ls-files', '-z'], { cwd: root });
  return String(stdout)
    .split('\0')
    .filter((file) => file.length > 0);
}

/** The repository root, or a UserError saying orch must run inside one. */
export async function requireRepoRoot(cwd: string): Promise<string> {
  const root = await findRepoRoot(cwd);
  if (!root)
    throw new UserError(
      'not a git repository (or any parent up to the filesystem root): run orch inside the repository the tasks should change.',
    );
  return root;
}

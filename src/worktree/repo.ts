import { simpleGit } from 'simple-git';
import { UserError } from '../errors.js';

/** The top of the git work tree containing `cwd`, or undefined outside a repository. */
export async function findRepoRoot(cwd: string): Promise<string | undefined> {
  try {
    const root = await simpleGit({ baseDir: cwd }).revparse(['--show-toplevel']);
    return root.trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Every tracked file, relative to the repository root. */
export async function listTrackedFiles(root: string): Promise<string[]> {
  const output = await simpleGit({ baseDir: root }).raw(['ls-files', '-z']);
  return output.split('\0').filter((file) => file.length > 0);
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

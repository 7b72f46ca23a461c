import { simpleGit, type SimpleGit } from 'simple-git';

// orch's own git calls never start a background gc or maintenance in the middle of a run.
const QUIET = ['gc.auto=0', 'maintenance.auto=false', 'core.quotePath=false'];

/**
 * simple-git in `dir` with orch's quiet settings, for the merge queue and the workers. A run's
 * per-task path does not load it (see quietGit in git.ts). simple-git waits an extra 50 ms after
 * any git process that prints nothing (a fixed delay in its completion handling), and resolves,
 * rather than rejects, a failing git that writes nothing to stderr.
 */
export function gitAt(dir: string, extraConfig: readonly string[] = []): SimpleGit {
  return simpleGit({ baseDir: dir, config: [...QUIET, ...extraConfig] });
}

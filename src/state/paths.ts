import path from 'node:path';

export const STATE_DIR = '.gadugi';

/** Where one run keeps its state, under `<repo>/.gadugi/runs/<run-id>/`. */
export interface RunPaths {
  dir: string;
  registry: string;
  ledger: string;
  logs: string;
  prompts: string;
  /** The task texts as they were when the run started (resume must not depend on edited files). */
  tasks: string;
  /** A detached run's own output. */
  orchLog: string;
}

export function stateDir(repoRoot: string): string {
  return path.join(repoRoot, STATE_DIR);
}

export function runsDir(repoRoot: string): string {
  return path.join(stateDir(repoRoot), 'runs');
}

export function runPaths(repoRoot: string, runId: string): RunPaths {
  return runPathsIn(path.join(runsDir(repoRoot), runId));
}

/**
 * Where a run is put together before it appears: the finished folder is renamed into place, so a
 * reader never finds a run without its registry. A hidden sibling, so the rename stays on one
 * file system and run listings skip it.
 */
export function startingDir(repoRoot: string, runId: string): string {
  return path.join(runsDir(repoRoot), `.${runId}.starting`);
}

export function runPathsIn(dir: string): RunPaths {
  return {
    dir,
    registry: path.join(dir, 'registry.json'),
    ledger: path.join(dir, 'events.ndjson'),
    logs: path.join(dir, 'logs'),
    prompts: path.join(dir, 'prompts'),
    tasks: path.join(dir, 'tasks'),
    orchLog: path.join(dir, 'orch.log'),
  };
}

/**
 * Per-attempt file names: attempt 1 is `<task>.jsonl`, later ones `<task>@<n>.jsonl`. `@` never
 * appears in a sanitized task id, so names cannot collide.
 */
export function attemptFileName(taskId: string, attempt: number, extension: string): string {
  return attempt <= 1 ? `${taskId}.${extension}` : `${taskId}@${attempt}.${extension}`;
}

/**
 * Where the worktree root sits inside the repository, relative to its top (with `/`), or
 * undefined when it is outside it: such a root must be kept out of `git status` and of copies.
 */
export function worktreeRootInRepo(repoRoot: string, worktreeRoot: string): string | undefined {
  const relative = path.relative(repoRoot, path.resolve(repoRoot, worktreeRoot));
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) return undefined;
  return relative.split(path.sep).join('/');
}

/** `<root>/<run-id>/<task-id>`, refusing anything that would land outside the root. */
export function worktreePath(root: string, runId: string, taskId: string): string {
  const resolvedRoot = path.resolve(root);
  const target = path.resolve(resolvedRoot, runId, taskId);
  if (!target.startsWith(resolvedRoot + path.sep)) throw new Error(`worktree path for task "${taskId}" escapes ${resolvedRoot}`);
  return target;
}

/** Run ids as orch makes them (see newRunId): checked before one from outside is used as a path. */
export const RUN_ID_PATTERN = /^\d{8}-\d{6}-[0-9a-f]{4}$/;

export function branchName(runId: string, taskId: string): string {
  return `orch/${runId}/${taskId}`;
}

/** The merge queue's branch: `integration` is reserved, no task may take that id. */
export const INTEGRATION = 'integration';

export function integrationBranchName(runId: string): string {
  return branchName(runId, INTEGRATION);
}

/** The merge queue's worktree, beside the run's task worktrees (`@` never appears in a task id). */
export function integrationWorktreePath(worktreeRoot: string, runId: string): string {
  return path.join(path.resolve(worktreeRoot), runId, '@integration');
}

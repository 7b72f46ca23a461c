import { sandboxState, type SandboxState } from '../agent/sandbox.js';
import { loadConfig } from '../config/load.js';
import type { OrchConfig } from '../config/schema.js';
import { UserError } from '../errors.js';
import { loadPrompts } from '../prompt/load.js';
import { isGlob } from '../prompt/paths.js';
import { findRepoRoot, listTrackedFiles } from '../worktree/repo.js';
import { analyze, describeAnalysisError, type Analysis } from '../graph/analyze.js';

/**
 * Reads the prompt files named on the command line and analyzes them. The repository is only
 * needed when a task's `files` use globs; then `repoRoot` must be known.
 */
export async function loadAnalysis(args: readonly string[], cwd: string, repoRoot?: string): Promise<Analysis> {
  const prompts = await loadPrompts(args, cwd);
  const needsRepo = prompts.some((prompt) => prompt.files.some(isGlob));
  const root = repoRoot ?? (needsRepo ? await findRepoRoot(cwd) : undefined);
  const trackedFiles = needsRepo && root !== undefined ? await listTrackedFiles(root) : undefined;
  const result = analyze(prompts, trackedFiles === undefined ? {} : { trackedFiles });
  if (!result.ok) throw new UserError(describeAnalysisError(result.error));
  return result.value;
}

/**
 * Whether `orch run` here would sandbox its agents: the repository's config (the defaults
 * outside one) on this machine. A sandbox that is required but unavailable is said, not thrown:
 * the plan is still worth seeing.
 */
export async function planSandbox(cwd: string, env: NodeJS.ProcessEnv): Promise<SandboxState> {
  const root = await findRepoRoot(cwd);
  const { config } = await loadConfig(root ?? cwd, env);
  return sandboxFor(config, env, cwd);
}

/** planSandbox with the config already read. */
export async function sandboxFor(config: OrchConfig, env: NodeJS.ProcessEnv, cwd: string): Promise<SandboxState> {
  try {
    return await sandboxState(config, env, cwd);
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    return { enabled: false, summary: `sandbox: orch run would refuse to start: ${error.message}` };
  }
}

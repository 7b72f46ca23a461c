import type { SandboxState } from '../agent/sandbox.js';
import type { OrchConfig } from '../config/schema.js';
import type { AttemptRequest } from '../engine/attempt-record.js';
import { Orchestrator, type RunOutcome } from '../engine/orchestrator.js';
import { RefsGuard } from '../executor/guard.js';
import { LocalExecutor } from '../executor/local.js';
import { ConflictIndex } from '../graph/conflicts.js';
import { selfIdentity } from '../process/process-info.js';
import { chooseSampler } from '../scheduler/sampler.js';
import { STATE_DIR, stateDir, worktreeRootInRepo } from '../state/paths.js';
import type { RunStore } from '../state/store.js';
import { filesToInclude, includePatterns } from '../worktree/include.js';
import { GitMutex } from '../worktree/mutex.js';

/** Runs a run's tasks to the end on this machine: what `run` and `resume` share once the run is on disk. */
export async function executeRun(
  store: RunStore,
  config: OrchConfig,
  env: NodeJS.ProcessEnv,
  onStart: (orchestrator: Orchestrator) => void,
  options: { sandbox: SandboxState; adopted?: AttemptRequest[]; warnings?: readonly string[] },
): Promise<RunOutcome> {
  const repoRoot = store.run.repoRoot;
  const worktreesInRepo = worktreeRootInRepo(repoRoot, store.run.worktreeRoot);
  let candidates: Promise<string[]> | undefined;
  const gitMutex = new GitMutex(stateDir(repoRoot));
  const executor = new LocalExecutor({
    config,
    repoRoot,
    runDir: store.paths.dir,
    gitMutex,
    sandbox: options.sandbox,
    refsGuard: new RefsGuard(repoRoot, store.run.id, gitMutex),
    env,
    owner: selfIdentity(),
    // Listed once per run, when the first worktree needs it; orch's state and worktrees are never copied.
    includeCandidates: () =>
      (candidates ??= includePatterns(repoRoot, config.worktree.include).then((patterns) =>
        filesToInclude(repoRoot, patterns, [STATE_DIR, ...(worktreesInRepo ? [worktreesInRepo] : [])]),
      )),
  });
  const orchestrator = new Orchestrator({
    store,
    config,
    conflicts: new ConflictIndex(store.run.conflicts),
    sampler: chooseSampler(env),
    executor,
  });
  onStart(orchestrator);
  return orchestrator.run(options.adopted, options.warnings);
}

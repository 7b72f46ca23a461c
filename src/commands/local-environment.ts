import type { SandboxState } from '../agent/sandbox.js';
import type { OrchConfig } from '../config/schema.js';
import type { LocalEnvironment } from '../executor/environment.js';
import { RefsGuard } from '../executor/guard.js';
import { selfIdentity } from '../process/process-info.js';
import { STATE_DIR, stateDir, worktreeRootInRepo } from '../state/paths.js';
import type { RunStore } from '../state/store.js';
import { filesToInclude, includePatterns } from '../worktree/include.js';
import { GitMutex } from '../worktree/mutex.js';
import { poolDir } from '../worktree/pool.js';

/** What a run's attempts (and its merge queue) need from this machine. */
export function localEnvironment(store: RunStore, config: OrchConfig, env: NodeJS.ProcessEnv, sandbox: SandboxState): LocalEnvironment {
  const repoRoot = store.run.repoRoot;
  const gitMutex = new GitMutex(stateDir(repoRoot), {
    // The git lock of an orch that was killed holding it, taken over: said in the ledger and the output.
    notice: (notice) => void store.record({ type: 'warning', message: notice.message }).catch(() => undefined),
  });
  const worktreesInRepo = worktreeRootInRepo(repoRoot, store.run.worktreeRoot);
  let candidates: Promise<string[]> | undefined;
  return {
    config,
    repoRoot,
    runDir: store.paths.dir,
    gitMutex,
    pool: config.worktree.pool > 0 ? poolDir(store.run.worktreeRoot) : undefined,
    sandbox,
    refsGuard: new RefsGuard(repoRoot, store.run.id, gitMutex),
    aheadFailed: (task, message) =>
      void store.record({ type: 'ahead-failed', taskId: task.id, worktree: task.worktree, message }).catch(() => undefined),
    env,
    owner: selfIdentity(),
    includeRoot: repoRoot,
    // Listed once, when the first worktree needs it; orch's state and worktrees are never copied.
    includeCandidates: () =>
      (candidates ??= includePatterns(repoRoot, config.worktree.include).then((patterns) =>
        filesToInclude(repoRoot, patterns, [STATE_DIR, ...(worktreesInRepo ? [worktreesInRepo] : [])]),
      )),
  };
}

import type { SandboxState } from '../agent/sandbox.js';
import type { OrchConfig } from '../config/schema.js';
import type { ProcessIdentity } from '../process/process-info.js';
import type { GitMutex } from '../worktree/mutex.js';
import type { RefsGuard } from './guard.js';
import type { AheadTask } from './types.js';

/** What the local executor needs from the machine and the run it works for. */
export interface LocalEnvironment {
  config: OrchConfig;
  repoRoot: string;
  /** The run folder: specs name their log, stderr and prompt files relative to it. */
  runDir: string;
  gitMutex: GitMutex;
  /** The warm pool's folder new worktrees may be taken from; none: always a fresh checkout. */
  pool?: string | undefined;
  env: NodeJS.ProcessEnv;
  /** The orchestrator process: owner of port reservations. */
  owner: ProcessIdentity;
  /** Where the untracked files to copy into new worktrees come from (the repository, or a worker's `--include-from`). */
  includeRoot: string;
  /** Where port reservations are kept, when not in the machine-wide default place (a worker keeps them in its workdir). */
  portsDir?: string | undefined;
  /** The untracked files to copy into new worktrees (computed once per run). */
  includeCandidates: () => Promise<string[]>;
  /** Whether agents run in Claude Code's sandbox (decided once per orchestrator). */
  sandbox: SandboxState;
  /**
   * Records refs before each agent and puts back what it should not have changed. None on a
   * worker (\`orch worker\`): its agents work in the worker's private clone, whose refs orch sets
   * from each job, and only the task's branch goes back, by its commit.
   */
  refsGuard?: RefsGuard | undefined;
  /** A worktree made ahead of time failed (recorded in the ledger; the attempt makes it at its start). */
  aheadFailed?: ((task: AheadTask, message: string) => void) | undefined;
}

import { loadConfig, type FlagOverride } from '../config/load.js';
import { UserError } from '../errors.js';
import type { EventSink } from '../events.js';
import { loadAnalysis } from './analysis.js';
import { acquireRunLock } from '../state/run-lock.js';
import type { RunStore } from '../state/store.js';
import { unusedAgentSettings } from '../agent/command.js';
import { WORKERS_SANDBOX, sandboxState, sandboxWarning } from '../agent/sandbox.js';
import { checkSampler } from '../scheduler/sampler.js';
import { branchOf, resolveCommit } from '../worktree/git.js';
import { requireRepoRoot } from '../worktree/repo.js';
import { createRun, newRunId } from './create-run.js';
import type { WorkersSetup } from './workers-setup.js';
import type { OrchConfig } from '../config/schema.js';
import type { RunRecord } from '../state/registry.js';
import { firstGitLine } from '../worker/git-line.js';
import type { Orchestrator, RunOutcome } from '../engine/orchestrator.js';
import { executeRun } from './execute.js';
import { checkAgent, checkStateWritable } from './preflight.js';

export interface RunRequest {
  cwd: string;
  env: NodeJS.ProcessEnv;
  prompts: string[];
  flags: FlagOverride[];
  detached: boolean;
  /** Use this run id (a detached run's id is chosen by the process that launched it). */
  runId?: string | undefined;
}

/** Everything `orch run` checks before it writes anything: any failure is one line and exit 2. */
export async function prepareRun(request: RunRequest) {
  const repoRoot = await requireRepoRoot(request.cwd);
  const { config, input } = await loadConfig(repoRoot, request.env, request.flags);
  // These checks only read (the prompts, the base, `claude auth status`, the sandbox probe), so
  // they run side by side: the agent's CLI takes a while to answer. Each is awaited in this order,
  // so the first failure in it is the one said, and an auth check still under way is stopped.
  // With --workers the agents run on the workers' machines, with their own claude and their own
  // sandbox (agent.sandbox travels in each job); this machine's matters for merge agents only.
  const agentsHere = !config.workers.url || (config.merge.enabled && config.merge.resolve);
  const cancel = new AbortController();
  const analyzing = awaitedLater(loadAnalysis(request.prompts, request.cwd, repoRoot));
  const resolving = awaitedLater(resolveCommit(repoRoot, config.base));
  const agentChecked = config.workers.url ? undefined : awaitedLater(checkAgent(config, request.env, request.cwd, cancel.signal));
  const probing = agentsHere ? awaitedLater(sandboxState(config, request.env, request.cwd)) : undefined;
  let analysis: Awaited<typeof analyzing>;
  let baseSha: string | undefined;
  let sandbox: Awaited<ReturnType<typeof sandboxState>>;
  try {
    analysis = await analyzing;
    baseSha = await resolving;
    if (!baseSha) {
      if (config.base === 'HEAD')
        throw new UserError(
          'the repository has no commits yet: commit something first (task branches start from a commit), or pass --base.',
        );
      throw new UserError(`base ref "${config.base}" not found: pass --base with an existing branch, tag or commit.`);
    }
    await agentChecked;
    sandbox = probing ? await probing : WORKERS_SANDBOX;
  } catch (error) {
    cancel.abort();
    await Promise.allSettled([agentChecked, probing]);
    throw error;
  }
  const workers = await connectWorkersIfAsked(repoRoot, config);
  try {
    await checkSampler(request.env);
    await checkStateWritable(repoRoot);
  } catch (error) {
    await workers?.link.close();
    throw error;
  }
  // Said once at the start of the run, in its output and its ledger.
  const warnings = [
    ...analysis.warnings,
    ...unusedAgentSettings(config, input, analysis.tasks),
    ...(workers ? workers.warnings : sandboxWarning(config, sandbox)),
  ];
  return { repoRoot, config, input, analysis, baseSha, warnings, workers, sandbox };
}

/** `orch run`: check, create the run, run it. */
export async function startRun(
  request: RunRequest,
  sink: EventSink,
  onStart: (orchestrator: Orchestrator) => void,
): Promise<{ store: RunStore; outcome: RunOutcome }> {
  const prepared = await prepareRun(request);
  const { workers } = prepared;
  try {
    return await startPrepared(request, prepared, sink, onStart);
  } finally {
    await workers?.link.close();
  }
}

async function startPrepared(
  request: RunRequest,
  prepared: Awaited<ReturnType<typeof prepareRun>>,
  sink: EventSink,
  onStart: (orchestrator: Orchestrator) => void,
): Promise<{ store: RunStore; outcome: RunOutcome }> {
  const runId = request.runId ?? newRunId();
  if (prepared.workers) {
    try {
      await prepared.workers.git.pushBase(runId, prepared.baseSha);
    } catch (error) {
      throw new UserError(`cannot push the run's base to the remote: ${firstGitLine(error)}; the workers start from it.`);
    }
  }
  const store = await createRun(
    {
      repoRoot: prepared.repoRoot,
      runId,
      workers: prepared.workers?.record,
      config: prepared.config,
      configInput: prepared.input,
      analysis: prepared.analysis,
      baseRef: prepared.config.base,
      baseSha: prepared.baseSha,
      baseBranch: await branchOf(prepared.repoRoot, prepared.config.base),
      promptFiles: prepared.analysis.tasks.map((task) => task.file),
      detached: request.detached,
      sandbox: prepared.sandbox,
    },
    sink,
  );
  let orchestrator: Orchestrator | undefined;
  const release = await acquireRunLock(store.paths, undefined, (error) =>
    orchestrator?.abort(new UserError(`lost the run lock: ${error.message}`)),
  );
  try {
    const outcome = await executeRun(
      store,
      prepared.config,
      request.env,
      (created) => {
        orchestrator = created;
        onStart(created);
      },
      { warnings: prepared.warnings, workers: prepared.workers, sandbox: prepared.sandbox },
    );
    return { store, outcome };
  } finally {
    await release();
  }
}

/** Started now, awaited later: its rejection is not an unhandled one meanwhile (the awaiter still gets it). */
function awaitedLater<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/** BullMQ is loaded only by runs that use workers: a local run starts without it. */
export async function connectWorkersIfAsked(
  repoRoot: string,
  config: OrchConfig,
  stored?: RunRecord['workers'],
): Promise<WorkersSetup | undefined> {
  if (!config.workers.url) return undefined;
  const { connectWorkers } = await import('./workers-setup.js');
  return connectWorkers(repoRoot, config, stored);
}

import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { parseStreamLine } from '../agent/stream.js';
import { loadConfig, type FlagOverride } from '../config/load.js';
import { UserError } from '../errors.js';
import type { EventSink } from '../events.js';
import { findAgentByEnvironment, isAlive, selfIdentity } from '../process/process-info.js';
import type { Registry, TaskRecord } from '../state/registry.js';
import { acquireRunLock } from '../state/run-lock.js';
import { loadRun } from '../state/runs.js';
import { RunStore } from '../state/store.js';
import type { AttemptRequest } from '../engine/attempt-record.js';
import { markPending } from '../engine/transitions.js';
import { unusedAgentSettings } from '../agent/command.js';
import { WORKERS_SANDBOX, sandboxState, sandboxWarning } from '../agent/sandbox.js';
import { checkSampler } from '../scheduler/sampler.js';
import type { Orchestrator, RunOutcome } from '../engine/orchestrator.js';
import { checkAgent, checkStateWritable } from './preflight.js';
import { planResume } from '../engine/resume-plan.js';
import { gitCommonDir, removeStaleIndexLock } from '../worktree/git.js';
import { removeSandboxLeftovers } from '../worktree/sandbox-leftovers.js';
import { pathExists } from '../util/fs.js';
import { requireRepoRoot } from '../worktree/repo.js';
import { executeRun } from './execute.js';
import { connectWorkersIfAsked } from './run.js';
import { firstGitLine } from '../worker/git-line.js';
import type { JobState } from '../workers/coordinator.js';
import { withoutSecrets } from '../workers/redis-url.js';

export interface ResumeRequest {
  cwd: string;
  env: NodeJS.ProcessEnv;
  runId?: string | undefined;
  flags: FlagOverride[];
  retryFailed: boolean;
}

/** Whether the stream of the task's latest attempt ends with its result line. */
async function latestAttemptHasResult(runDir: string, task: TaskRecord): Promise<boolean> {
  const attempt = task.attemptLog.at(-1);
  if (!attempt) return false;
  try {
    const lines = (await readFile(path.join(runDir, attempt.log), 'utf8')).split('\n');
    return lines.some((line) => parseStreamLine(line)?.kind === 'result');
  } catch {
    return false;
  }
}

/** What a resume needs, checked before anything is written (a detached resume checks it in the foreground). */
export async function prepareResume(request: ResumeRequest) {
  const repoRoot = await requireRepoRoot(request.cwd);
  const { paths, registry } = await loadRun(repoRoot, request.runId);
  const { run } = registry;
  if (run.status === 'running' && isAlive(run.orchestrator)) {
    throw new UserError(
      `run ${run.id} is still running (orch pid ${run.orchestrator.pid} is alive): there is nothing to resume; follow it with \`orch status ${run.id} --watch\`.`,
    );
  }
  const { config, input } = await loadConfig(repoRoot, request.env, request.flags, run.config);
  if (run.workers && !config.workers.url) {
    throw new UserError(
      `run ${run.id} runs its tasks on workers (${run.workers.url}): give their Redis URL with --workers or ORCH_WORKERS to resume it.`,
    );
  }
  const localWarnings: string[] = [];
  if (!run.workers && config.workers.url) {
    localWarnings.push(`the workers' URL is ignored: run ${run.id} runs its tasks on this machine`);
    config.workers.url = null;
  }
  const hasResult = new Map<string, boolean>();
  for (const task of registry.tasks) if (task.status === 'running') hasResult.set(task.id, await latestAttemptHasResult(paths.dir, task));
  if (!run.workers) await checkSampler(request.env);
  await checkStateWritable(repoRoot);
  const workers = await connectWorkersIfAsked(repoRoot, config, run.workers);
  try {
    const jobStates = new Map<string, JobState>();
    for (const task of registry.tasks) {
      const job = task.attemptLog.at(-1)?.job;
      if (task.status === 'running' && job && workers) jobStates.set(task.id, await workers.link.state(job.id));
    }
    const actions = planResume(registry.tasks, {
      liveAgent: (task) => (task.agent ? (isAlive(task.agent) ? task.agent : undefined) : findAgentByEnvironment(run.id, task.id)),
      hasResult: (task) => hasResult.get(task.id) === true,
      retryFailed: request.retryFailed,
      jobState: (task) => jobStates.get(task.id),
    });
    const startsAgents =
      [...actions.values()].some((action) => action.kind === 'rerun' || action.kind === 'revive') ||
      registry.tasks.some((task) => task.status === 'pending');
    if (startsAgents && !workers) await checkAgent(config, request.env, request.cwd);
    // Agents already running keep the sandbox they started with; only new ones need this machine's
    // (with --workers, each worker's own, but for merge agents).
    const agentsHere = startsAgents && (!workers || (config.merge.enabled && config.merge.resolve));
    const sandbox = agentsHere
      ? await sandboxState(config, request.env, request.cwd)
      : workers
        ? WORKERS_SANDBOX
        : (run.sandbox ?? { enabled: false, summary: 'sandbox: off (no agent starts in this session)' });
    const warnings = [
      ...fixedByTheRun(registry, request.env),
      ...localWarnings,
      ...unusedAgentSettings(config, input, registry.tasks),
      ...(workers?.warnings ?? []),
      ...(agentsHere && !workers ? sandboxWarning(config, sandbox) : []),
    ];
    return { repoRoot, paths, registry, config, input, actions, warnings, workers, sandbox };
  } catch (error) {
    await workers?.link.close();
    throw error;
  }
}

/**
 * A run keeps the base and the worktrees it started with: the environment variables that would
 * change them are ignored on resume, and said to be.
 */
function fixedByTheRun(registry: Registry, env: NodeJS.ProcessEnv): string[] {
  const { run } = registry;
  const warnings: string[] = [];
  if (env.ORCH_WORKTREE_ROOT && path.resolve(run.repoRoot, env.ORCH_WORKTREE_ROOT) !== run.worktreeRoot) {
    warnings.push(`ORCH_WORKTREE_ROOT is ignored: run ${run.id} keeps its worktrees under ${run.worktreeRoot}`);
  }
  if (env.ORCH_BASE && env.ORCH_BASE !== run.baseRef)
    warnings.push(`ORCH_BASE is ignored: run ${run.id} keeps its base ${run.baseRef} (${run.baseSha.slice(0, 9)})`);
  return warnings;
}

/**
 * `orch resume`: takes over a run whose orchestrator is gone. Live agents are adopted (followed
 * from their output files, never started twice), finished ones collected, interrupted ones
 * re-run in their worktrees (continuing their Claude sessions), pending ones run as usual.
 */
export async function resumeRun(
  request: ResumeRequest,
  sink: EventSink,
  onStart: (orchestrator: Orchestrator) => void,
): Promise<{ store: RunStore; outcome: RunOutcome }> {
  const first = await prepareResume(request);
  // Checked; the resume connects again once it holds the run.
  await first.workers?.link.close();
  let orchestrator: Orchestrator | undefined;
  const release = await acquireRunLock(first.paths, first.registry.run.orchestrator, (error) =>
    orchestrator?.abort(new UserError(`lost the run lock: ${error.message}`)),
  );
  try {
    // Read again as the run's only writer: nothing can change it under us from here on.
    const { paths, registry, config, input, actions, warnings, workers, sandbox } = await prepareResume({
      ...request,
      runId: first.registry.run.id,
    });
    try {
      return await resumePrepared(request, { paths, registry, config, input, actions, warnings, workers, sandbox }, sink, (created) => {
        orchestrator = created;
        onStart(created);
      });
    } finally {
      await workers?.link.close();
    }
  } finally {
    await release();
  }
}

async function resumePrepared(
  request: ResumeRequest,
  prepared: Pick<
    Awaited<ReturnType<typeof prepareResume>>,
    'paths' | 'registry' | 'config' | 'input' | 'actions' | 'warnings' | 'workers' | 'sandbox'
  >,
  sink: EventSink,
  onStart: (orchestrator: Orchestrator) => void,
): Promise<{ store: RunStore; outcome: RunOutcome }> {
  const { paths, registry, config, input, actions, warnings, workers, sandbox } = prepared;
  const { run } = registry;
  if (workers) {
    // Where the workers start from, again: someone may have tidied the remote since.
    try {
      await workers.git.pushBase(run.id, run.baseSha);
    } catch (error) {
      throw new UserError(`cannot push the run's base to the remote: ${firstGitLine(error)}; the workers start from it.`);
    }
  }
  const now = new Date().toISOString();
  const self = selfIdentity();
  run.orchestrator = { ...self, host: hostname() };
  run.sessions.push({ pid: process.pid, startedAt: now });
  run.status = 'running';
  run.heartbeatAt = now;
  run.config = withoutSecrets(input);
  run.sandbox = { enabled: sandbox.enabled, summary: sandbox.summary };
  delete run.finishedAt;
  delete run.exitCode;
  delete run.reason;

  const store = await RunStore.open(paths, registry, sink);
  await store.record({
    type: 'run-started',
    runId: run.id,
    baseRef: run.baseRef,
    baseSha: run.baseSha,
    tasks: registry.tasks.length,
    maxParallel: config.maxParallel,
    resumed: true,
    detached: false,
  });

  const adopted: AttemptRequest[] = [];
  for (const task of registry.tasks) {
    const action = actions.get(task.id);
    if (!action || action.kind === 'keep') continue;
    // Its agent and the orchestrator are both gone: a git lock they left would block every commit.
    if ((action.kind === 'collect' || action.kind === 'rerun') && (await removeStaleIndexLock(task.worktree))) {
      await store.record({ type: 'warning', message: `removed a stale git index.lock in ${task.worktree}` });
    }
    // Likewise what Claude Code's sandbox leaves when its CLI is killed mid-command.
    if ((action.kind === 'collect' || action.kind === 'rerun') && (await pathExists(task.worktree))) {
      const left = await removeSandboxLeftovers(task.worktree, await gitCommonDir(run.repoRoot), { configLock: true });
      if (left.length > 0)
        await store.record({ type: 'warning', message: `removed what a killed agent's sandbox left behind: ${left.join(', ')}` });
    }
    if (action.kind === 'adopt' || action.kind === 'collect') {
      const attempt = task.attemptLog.at(-1);
      if (!attempt) continue;
      task.agent = action.identity;
      adopted.push({ task, attempt, adopt: action.identity });
      continue;
    }
    if (action.kind === 'reattach') {
      const attempt = task.attemptLog.at(-1);
      if (attempt) adopted.push({ task, attempt, reattach: { jobId: action.jobId } });
      continue;
    }
    if (action.kind === 'rerun') {
      if (action.next.kind === 'retry') task.retriesUsed = 0;
      const reason = action.next.kind === 'retry' ? 'retrying a failed task (--retry-failed)' : 'resuming an interrupted task';
      await store.record(markPending(task, { reason, next: action.next }));
    } else {
      await store.record(markPending(task, { reason: 'its dependency is being retried' }));
    }
  }

  const outcome = await executeRun(store, config, request.env, onStart, { adopted, warnings, workers, sandbox });
  return { store, outcome };
}

import { loadConfig, type FlagOverride } from '../config/load.js';
import type { OrchConfig } from '../config/schema.js';
import { EXIT } from '../domain/exit-codes.js';
import { UserError, errorMessage } from '../errors.js';
import type { EventSink } from '../events.js';
import { LocalExecutor } from '../executor/local.js';
import { checkInto, fastForward } from '../merge/into.js';
import { GIT_MINIMUM_FOR_MERGE } from '../merge/git-merge.js';
import { MergeQueue, mergeSettings } from '../merge/queue.js';
import { isAlive, selfIdentity } from '../process/process-info.js';
import { integrationBranchName, integrationWorktreePath } from '../state/paths.js';
import type { Registry } from '../state/registry.js';
import { acquireRunLock } from '../state/run-lock.js';
import { loadRun } from '../state/runs.js';
import { RunStore } from '../state/store.js';
import { requireGit } from '../worktree/git-version.js';
import { requireRepoRoot } from '../worktree/repo.js';
import { localEnvironment } from './local-environment.js';
import { checkAgent, checkStateWritable } from './preflight.js';
import { findExecutable } from '../util/which.js';
import { sandboxState, type SandboxState } from '../agent/sandbox.js';

export interface MergeRequest {
  cwd: string;
  env: NodeJS.ProcessEnv;
  runId?: string | undefined;
  flags: FlagOverride[];
}

export interface MergeOutcome {
  exitCode: number;
  error?: UserError;
  internalError?: Error;
}

/** What can stop a merge: Ctrl-C (SIGTERM, then SIGKILL after the grace period), and a second one. */
export interface MergeControl {
  interrupt(): void;
  killNow(): void;
  /** The run's registry as the queue changes it (for a live view). */
  registry(): Registry;
}

/** The merge settings a merge (or `run --merge`) is about to use: git recent enough, `--into` usable, the check startable. */
export async function checkMergeSettings(repoRoot: string, config: OrchConfig, env: NodeJS.ProcessEnv, cwd: string): Promise<void> {
  await requireGit(GIT_MINIMUM_FOR_MERGE, 'the merge queue needs `git merge-tree --write-tree`, in');
  if (config.merge.into) await checkInto(repoRoot, config.merge.into);
  const check = config.merge.check;
  if (Array.isArray(check) && !(await findExecutable(check[0]!, env, cwd))) {
    throw new UserError(
      `the check command "${check[0]}" cannot be started: not found on PATH; give its full path, or the check as one string run through the shell.`,
    );
  }
}

/** Everything `orch merge` checks before it writes anything: any failure is one line and exit 2. */
export async function prepareMerge(
  request: MergeRequest,
  options: { dryRun?: boolean } = {},
): Promise<{
  repoRoot: string;
  registry: Registry;
  config: OrchConfig;
  paths: Awaited<ReturnType<typeof loadRun>>['paths'];
  sandbox: SandboxState;
}> {
  const repoRoot = await requireRepoRoot(request.cwd);
  const { paths, registry } = await loadRun(repoRoot, request.runId);
  const { run } = registry;
  if (run.status === 'running' && isAlive(run.orchestrator) && !options.dryRun) {
    throw new UserError(
      `run ${run.id} is still running (orch pid ${run.orchestrator.pid}): wait for it (\`orch wait ${run.id}\`) and merge then, or start runs with --merge to integrate tasks as they finish.`,
    );
  }
  if (run.merge?.orchestrator && run.merge.status === 'running' && isAlive(run.merge.orchestrator)) {
    throw new UserError(`run ${run.id} is being merged already (orch pid ${run.merge.orchestrator.pid}).`);
  }
  if (!registry.tasks.some((task) => task.status === 'succeeded')) {
    throw new UserError(
      `run ${run.id} has no succeeded task to integrate (${registry.tasks.length} task${registry.tasks.length === 1 ? '' : 's'}, none succeeded).`,
    );
  }
  const { config } = await loadConfig(repoRoot, request.env, request.flags);
  await checkMergeSettings(repoRoot, config, request.env, request.cwd);
  // Only a merge agent (resolving a conflict) runs sandboxed; a dry run starts none.
  const noAgent: SandboxState = { enabled: false, summary: 'sandbox: off (no agent starts)' };
  if (options.dryRun) return { repoRoot, registry, config, paths, sandbox: noAgent };
  if (config.merge.resolve) await checkAgent(config, request.env, request.cwd);
  const sandbox = config.merge.resolve ? await sandboxState(config, request.env, request.cwd) : noAgent;
  await checkStateWritable(repoRoot);
  return { repoRoot, registry, config, paths, sandbox };
}

/**
 * `orch merge`: integrates the run's succeeded tasks into `orch/<run-id>/integration` (see
 * MergeQueue), then, with `--into`, fast-forwards a branch to it. The run's single writer while
 * it works (the run lock); killed at any moment, running it again continues where it stopped.
 */
export async function mergeRun(
  request: MergeRequest,
  sink: EventSink,
  onStart: (control: MergeControl) => void,
): Promise<{ store: RunStore; outcome: MergeOutcome }> {
  const first = await prepareMerge(request);
  const stop = new AbortController();
  const kill = new AbortController();
  let abortError: UserError | undefined;
  const release = await acquireRunLock(first.paths, first.registry.run.merge?.orchestrator ?? first.registry.run.orchestrator, (error) => {
    abortError ??= new UserError(`lost the run lock: ${error.message}`);
    stop.abort('abort');
  });
  try {
    // Read again as the run's only writer (what was checked before still holds: nobody else can write it now).
    const { registry, paths } = await loadRun(first.repoRoot, first.registry.run.id);
    const { config } = first;
    const run = registry.run;
    const store = await RunStore.open(paths, registry, sink);
    const now = new Date().toISOString();
    const self = selfIdentity();
    const resumed = run.merge !== undefined;
    run.merge = {
      ...(run.merge ?? {
        branch: integrationBranchName(run.id),
        worktree: integrationWorktreePath(run.worktreeRoot, run.id),
        startSha: run.baseSha,
      }),
      status: 'running',
      startedAt: now,
      orchestrator: { ...self },
    };
    delete run.merge.finishedAt;
    delete run.merge.exitCode;
    const local = localEnvironment(store, config, request.env, first.sandbox);
    const queue = new MergeQueue({
      store,
      config,
      settings: mergeSettings(config),
      executor: new LocalExecutor(local),
      gitMutex: local.gitMutex,
      env: request.env,
      owner: local.owner,
      includeCandidates: local.includeCandidates,
      signal: stop.signal,
      kill: kill.signal,
      runFinished: () => true,
    });
    onStart({
      registry: () => store.registry,
      interrupt: () => stop.abort('user'),
      killNow: () => {
        stop.abort('user');
        kill.abort();
      },
    });

    let internalError: Error | undefined;
    try {
      await store.save();
      const { resumed: reopened } = await queue.open();
      await store.record({ type: 'merge-started', branch: run.merge.branch, head: queue.integrationHead, resumed: resumed || reopened });
      await queue.drain();
    } catch (error) {
      if (error instanceof UserError) abortError ??= error;
      else {
        internalError = error instanceof Error ? error : new Error(String(error));
        abortError ??= new UserError(`internal error: ${errorMessage(error)}`, EXIT.failed);
      }
    }

    const summary = queue.summary();
    if (config.merge.into && !stop.signal.aborted && !abortError) {
      const moved = await fastForward(run.repoRoot, config.merge.into, queue.integrationHead);
      summary.into = moved.moved
        ? { branch: config.merge.into, moved: true }
        : { branch: config.merge.into, moved: false, reason: moved.reason };
      if (moved.moved && moved.from !== moved.to)
        await store.record({ type: 'merge-into', branch: config.merge.into, from: moved.from, to: moved.to });
    }
    const interrupted = stop.signal.aborted && !abortError;
    const integratedAll = summary.counts.merged === summary.tasks.length && (summary.into?.moved ?? true);
    const exitCode = abortError ? abortError.exitCode : interrupted ? EXIT.interrupted : integratedAll ? EXIT.ok : EXIT.failed;
    const status = abortError ? 'aborted' : interrupted ? 'interrupted' : 'finished';
    run.merge.status = status;
    run.merge.exitCode = exitCode;
    run.merge.finishedAt = new Date().toISOString();
    await store.record({ type: 'merge-finished', status, exitCode, summary });
    const outcome: MergeOutcome = { exitCode };
    if (abortError) outcome.error = abortError;
    if (internalError) outcome.internalError = internalError;
    if (summary.into && !summary.into.moved)
      outcome.error ??= new UserError(`--into ${summary.into.branch} refused: ${summary.into.reason}; nothing was changed.`, EXIT.failed);
    return { store, outcome };
  } finally {
    await release();
  }
}

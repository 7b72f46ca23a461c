import type { SandboxState } from '../agent/sandbox.js';
import type { OrchConfig } from '../config/schema.js';
import type { AttemptRequest } from '../engine/attempt-record.js';
import { Orchestrator, type RunOutcome } from '../engine/orchestrator.js';
import { LocalExecutor } from '../executor/local.js';
import type { WorkersSetup } from './workers-setup.js';
import { ConflictIndex } from '../graph/conflicts.js';
import { earlierDurations } from '../engine/history.js';
import { chooseSampler } from '../scheduler/sampler.js';
import type { RunStore } from '../state/store.js';
import { localEnvironment } from './local-environment.js';
import { localHooks } from '../hooks/hooks.js';
import { integrationBranchName, integrationWorktreePath } from '../state/paths.js';

/** Runs a run's tasks to the end on this machine: what `run` and `resume` share once the run is on disk. */
export async function executeRun(
  store: RunStore,
  config: OrchConfig,
  env: NodeJS.ProcessEnv,
  onStart: (orchestrator: Orchestrator) => void,
  options: { sandbox: SandboxState; adopted?: AttemptRequest[]; warnings?: readonly string[]; workers?: WorkersSetup | undefined },
): Promise<RunOutcome> {
  const local = localEnvironment(store, config, env, options.sandbox);
  // Merge agents resolve conflicts in the integration worktree, which is on this machine: they run here.
  const executor = new LocalExecutor(local);
  const workers = options.workers;
  const holder: { orchestrator?: Orchestrator } = {};
  // The merge queue and the workers' executor are loaded only by the runs that use them: a plain
  // local run never parses them (or the full zod the workers' job schemas bring).
  const integrator = config.merge.enabled
    ? new (await import('../merge/run-integrator.js')).RunIntegrator({
        store,
        config,
        settings: (await import('../merge/queue.js')).mergeSettings(config),
        executor,
        gitMutex: local.gitMutex,
        env,
        owner: local.owner,
        includeCandidates: local.includeCandidates,
        into: config.merge.into ?? undefined,
        onError: (error) => holder.orchestrator?.failWith(error),
      })
    : undefined;
  if (integrator) {
    store.run.merge ??= {
      branch: integrationBranchName(store.run.id),
      worktree: integrationWorktreePath(store.run.worktreeRoot, store.run.id),
      startSha: store.run.baseSha,
      status: 'running',
      startedAt: new Date().toISOString(),
    };
    store.run.merge.status = 'running';
  }
  const orchestrator = new Orchestrator({
    store,
    config,
    conflicts: new ConflictIndex(store.run.conflicts),
    sampler: chooseSampler(env),
    executor: workers
      ? new (await import('../executor/queue.js')).QueueExecutor(workers.link, workers.git, config, store.paths.dir, store.run.baseSha)
      : executor,
    capacity: workers?.link,
    hooks: localHooks(config, { dir: store.paths.dir, repoRoot: store.run.repoRoot, baseRef: store.run.baseRef }, env),
    integrator,
    earlier: await earlierDurations(
      store.run.repoRoot,
      store.tasks.map((task) => task.id),
      store.run.id,
    ),
  });
  holder.orchestrator = orchestrator;
  onStart(orchestrator);
  return orchestrator.run(options.adopted, options.warnings);
}

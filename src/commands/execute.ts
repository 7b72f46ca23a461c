import type { OrchConfig } from '../config/schema.js';
import type { AttemptRequest } from '../engine/attempt-record.js';
import { Orchestrator, type RunOutcome } from '../engine/orchestrator.js';
import { LocalExecutor } from '../executor/local.js';
import { ConflictIndex } from '../graph/conflicts.js';
import { chooseSampler } from '../scheduler/sampler.js';
import type { RunStore } from '../state/store.js';
import { localEnvironment } from './local-environment.js';
import { localHooks } from '../hooks/hooks.js';

/** Runs a run's tasks to the end on this machine: what `run` and `resume` share once the run is on disk. */
export async function executeRun(
  store: RunStore,
  config: OrchConfig,
  env: NodeJS.ProcessEnv,
  onStart: (orchestrator: Orchestrator) => void,
  options: { adopted?: AttemptRequest[]; warnings?: readonly string[] } = {},
): Promise<RunOutcome> {
  const executor = new LocalExecutor(localEnvironment(store, config, env));
  const orchestrator = new Orchestrator({
    store,
    config,
    conflicts: new ConflictIndex(store.run.conflicts),
    sampler: chooseSampler(env),
    executor,
    hooks: localHooks(config, { dir: store.paths.dir, repoRoot: store.run.repoRoot, baseRef: store.run.baseRef }, env),
  });
  onStart(orchestrator);
  return orchestrator.run(options.adopted, options.warnings);
}

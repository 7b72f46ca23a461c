import { loadConfig } from '../config/load.js';
import { errorMessage } from '../errors.js';
import { isAlive } from '../process/process-info.js';
import { runLiveness, taskLiveness, type LivenessProbe, type RunLivenessView, type TaskLivenessView } from '../state/liveness.js';
import type { Registry, RunRecord, TaskRecord } from '../state/registry.js';
import type { TaskStatus } from '../domain/vocabulary.js';
import { listRunIds, loadRun } from '../state/runs.js';
import { runPaths } from '../state/paths.js';
import { readRegistry } from '../state/registry-file.js';
import { countStatuses } from '../engine/summary.js';

export type RunView = RunRecord & RunLivenessView & { counts: Record<TaskStatus, number> };
export type TaskView = TaskRecord & TaskLivenessView;

/** A registry plus the liveness orch derives from pids and heartbeats: what `orch status` shows. */
export interface StatusView {
  run: RunView;
  tasks: TaskView[];
}

/**
 * How long a heartbeat may be silent before a run is stale, from the run's own settings (and
 * the environment's overrides: an invalid one is reported, not replaced by a default).
 */
async function staleAfterMs(registry: Registry, env: NodeJS.ProcessEnv): Promise<number> {
  return (await loadConfig(registry.run.repoRoot, env, [], registry.run.config)).config.heartbeat.staleAfter;
}

/** A registry as it stands now: its processes checked, its heartbeats aged. */
export async function liveView(registry: Registry, env: NodeJS.ProcessEnv): Promise<StatusView> {
  return viewOf(registry, { isAlive, now: Date.now(), staleAfterMs: await staleAfterMs(registry, env) });
}

export function viewOf(registry: Registry, probe: LivenessProbe): StatusView {
  const run = runLiveness(registry, probe);
  return {
    run: { ...registry.run, ...run, counts: countStatuses(registry.tasks) },
    tasks: registry.tasks.map((task) => ({ ...task, ...taskLiveness(task, run, probe) })),
  };
}

export async function loadStatus(repoRoot: string, runId: string | undefined, env: NodeJS.ProcessEnv): Promise<StatusView> {
  const { registry } = await loadRun(repoRoot, runId);
  return liveView(registry, env);
}

export interface RunListEntry {
  id: string;
  status: string;
  liveness: string;
  startedAt: string;
  finishedAt?: string | undefined;
  counts: Record<TaskStatus, number>;
}

/** Every run in the repository; run folders without a readable registry are reported, not fatal. */
export async function listRuns(
  repoRoot: string,
  env: NodeJS.ProcessEnv,
): Promise<{ runs: RunListEntry[]; unreadable: Array<{ id: string; error: string }> }> {
  const runs: RunListEntry[] = [];
  const unreadable: Array<{ id: string; error: string }> = [];
  for (const id of await listRunIds(repoRoot)) {
    let registry: Registry;
    try {
      registry = await readRegistry(runPaths(repoRoot, id).registry);
    } catch (error) {
      unreadable.push({ id, error: errorMessage(error) });
      continue;
    }
    const view = await liveView(registry, env);
    runs.push({
      id,
      status: registry.run.status,
      liveness: view.run.liveness,
      startedAt: registry.run.startedAt,
      finishedAt: registry.run.finishedAt,
      counts: view.run.counts,
    });
  }
  return { runs, unreadable };
}

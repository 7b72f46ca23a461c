import type { ConflictIndex } from '../graph/conflicts.js';
import { expectedDurations, remainingPaths, type ExpectedDurations } from '../scheduler/critical-path.js';
import type { TaskRecord } from '../state/registry.js';
import { readFile } from 'node:fs/promises';
import { runPaths } from '../state/paths.js';
import { listRunIds } from '../state/runs.js';

/** How many earlier runs are read at most (newest first) to find the tasks' durations. */
export const HISTORY_RUNS = 50;

/** The agent time a finished task took (every attempt summed), if it succeeded with a measured time. */
export function succeededMs(task: Pick<TaskRecord, 'status' | 'agentMs'>): number | undefined {
  return task.status === 'succeeded' && task.agentMs !== undefined ? task.agentMs : undefined;
}

/**
 * The finished tasks of an earlier run's registry, read as plain JSON (no schema: `orch plan` and
 * the start of a run stay quick), or nothing when the file cannot be read or holds no task list.
 */
async function earlierTasks(file: string): Promise<Array<Pick<TaskRecord, 'id' | 'status' | 'agentMs'>>> {
  try {
    const data = JSON.parse(await readFile(file, 'utf8')) as { tasks?: unknown };
    if (!Array.isArray(data.tasks)) return [];
    return data.tasks.flatMap((task: unknown) => {
      const { id, status, agentMs } = (task ?? {}) as Record<string, unknown>;
      return typeof id === 'string' && status === 'succeeded' && typeof agentMs === 'number' && Number.isFinite(agentMs)
        ? [{ id, status, agentMs }]
        : [];
    });
  } catch {
    return [];
  }
}

/**
 * What each of these task ids took the last time it succeeded in an earlier run of this
 * repository (newest run first, at most HISTORY_RUNS runs read). A registry that cannot be read
 * is passed over: history only orders tasks, it never stops a run.
 */
export async function earlierDurations(repoRoot: string, ids: readonly string[], currentRunId?: string): Promise<Map<string, number>> {
  const wanted = new Set(ids);
  const found = new Map<string, number>();
  const runs = (await listRunIds(repoRoot)).filter((id) => id !== currentRunId && (currentRunId === undefined || id < currentRunId));
  for (const runId of runs.reverse().slice(0, HISTORY_RUNS)) {
    if (found.size === wanted.size) break;
    for (const task of await earlierTasks(runPaths(repoRoot, runId).registry)) {
      const ms = succeededMs(task);
      if (ms !== undefined && wanted.has(task.id) && !found.has(task.id)) found.set(task.id, ms);
    }
  }
  return found;
}

/**
 * The ranks the scheduler orders ready tasks by: each pending task's remaining path, with the
 * expected durations from earlier runs, else this run's finished tasks, else one unit.
 */
export function pendingRanks(
  tasks: ReadonlyArray<Pick<TaskRecord, 'id' | 'status' | 'dependsOn' | 'order' | 'agentMs'>>,
  earlier: ReadonlyMap<string, number>,
  conflicts: ConflictIndex,
): { ranks: Map<string, number>; durations: ExpectedDurations } {
  const pending = tasks.filter((task) => task.status === 'pending');
  const finished = tasks.flatMap((task) => {
    const ms = succeededMs(task);
    return ms === undefined ? [] : [ms];
  });
  const durations = expectedDurations(
    pending.map((task) => task.id),
    earlier,
    finished,
  );
  return { ranks: remainingPaths(pending, durations.byId, conflicts), durations };
}

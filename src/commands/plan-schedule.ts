import { availableParallelism } from 'node:os';
import { loadConfig } from '../config/load.js';
import { earlierDurations } from '../engine/history.js';
import type { Analysis } from '../graph/analyze.js';
import { ConflictIndex } from '../graph/conflicts.js';
import { criticalPath, expectedDurations, simulateRun, type DurationSource } from '../scheduler/critical-path.js';
import { findRepoRoot } from '../worktree/repo.js';

/** What `orch plan` says about time: the critical path and the expected length of the run. */
export interface PlanSchedule {
  /** How many agents the run would have at once, and what decides it. */
  slots: number;
  slotsFrom: 'max-parallel' | 'cores';
  /** "ms" when earlier runs measured some of these tasks; "task" when nothing did (every task counts one). */
  unit: 'ms' | 'task';
  durations: Record<string, { expected: number; source: DurationSource }>;
  criticalPath: string[];
  criticalPathLength: number;
  /** The scheduler's rule played over the expected durations with `slots` agents at once. */
  expectedLength: number;
  /** max(critical path, total work ÷ slots): no schedule is shorter. */
  lowerBound: number;
}

/** The schedule of an analysis: expected durations from this repository's earlier runs, slots from the config. */
export function planSchedule(
  analysis: Analysis,
  earlier: ReadonlyMap<string, number>,
  slots: number,
  slotsFrom: PlanSchedule['slotsFrom'],
): PlanSchedule {
  const conflicts = new ConflictIndex(analysis.conflicts);
  const expected = expectedDurations(
    analysis.tasks.map((task) => task.id),
    earlier,
    [],
  );
  const path = criticalPath(analysis.tasks, expected.byId, conflicts);
  const simulated = simulateRun(analysis.tasks, expected.byId, conflicts, slots);
  return {
    slots,
    slotsFrom,
    unit: expected.measured ? 'ms' : 'task',
    durations: Object.fromEntries(
      analysis.tasks.map((task) => [task.id, { expected: expected.byId.get(task.id)!, source: expected.source.get(task.id)! }]),
    ),
    criticalPath: path.path,
    criticalPathLength: path.length,
    expectedLength: simulated.length,
    lowerBound: simulated.lowerBound,
  };
}

/**
 * Reads what `planSchedule` needs: the repository's earlier runs (none outside a repository) and
 * the concurrency a run would start with (`maxParallel` from the config or `--max-parallel`,
 * else the cores times `concurrency.agentsPerCore`).
 */
export async function loadPlanSchedule(
  analysis: Analysis,
  cwd: string,
  env: NodeJS.ProcessEnv,
  maxParallel?: string,
): Promise<PlanSchedule> {
  const repoRoot = await findRepoRoot(cwd);
  const flag =
    maxParallel === undefined
      ? []
      : [{ key: 'maxParallel', value: /^\d+$/.test(maxParallel.trim()) ? Number(maxParallel) : maxParallel, flag: '--max-parallel' }];
  const { config } = await loadConfig(repoRoot ?? cwd, env, flag);
  const earlier =
    repoRoot === undefined
      ? new Map<string, number>()
      : await earlierDurations(
          repoRoot,
          analysis.tasks.map((task) => task.id),
        );
  if (config.maxParallel !== 'auto') return planSchedule(analysis, earlier, config.maxParallel, 'max-parallel');
  return planSchedule(analysis, earlier, Math.max(1, Math.round(availableParallelism() * config.concurrency.agentsPerCore)), 'cores');
}

import { availableParallelism } from 'node:os';
import type { SandboxState } from '../agent/sandbox.js';
import { loadConfig } from '../config/load.js';
import type { OrchConfig } from '../config/schema.js';
import { loadAnalysis, sandboxFor } from './analysis.js';
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
  return scheduleIn(analysis, await findRepoRoot(cwd), cwd, env, maxParallel);
}

async function scheduleIn(
  analysis: Analysis,
  repoRoot: string | undefined,
  cwd: string,
  env: NodeJS.ProcessEnv,
  maxParallel: string | undefined,
  config?: OrchConfig,
): Promise<PlanSchedule> {
  const flag =
    maxParallel === undefined
      ? []
      : [{ key: 'maxParallel', value: /^\d+$/.test(maxParallel.trim()) ? Number(maxParallel) : maxParallel, flag: '--max-parallel' }];
  const settings = config !== undefined && flag.length === 0 ? config : (await loadConfig(repoRoot ?? cwd, env, flag)).config;
  const earlier =
    repoRoot === undefined
      ? new Map<string, number>()
      : await earlierDurations(
          repoRoot,
          analysis.tasks.map((task) => task.id),
        );
  if (settings.maxParallel !== 'auto') return planSchedule(analysis, earlier, settings.maxParallel, 'max-parallel');
  return planSchedule(analysis, earlier, Math.max(1, Math.round(availableParallelism() * settings.concurrency.agentsPerCore)), 'cores');
}

/** Everything `orch plan` shows. */
export interface Plan {
  analysis: Analysis;
  sandbox: SandboxState;
  schedule: PlanSchedule;
}

/**
 * What `orch plan` shows: loadAnalysis, then planSandbox, then loadPlanSchedule, with the same
 * answers and the same errors first, but the waits overlapped: git (the repository's root, which
 * `repoRoot` may have started asking already), the config and the sandbox probe (bubblewrap
 * started once) go on while the prompts are parsed, and the root and the config are read once.
 */
export async function loadPlan(
  prompts: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; maxParallel?: string | undefined; repoRoot?: Promise<string | undefined> },
): Promise<Plan> {
  const { cwd, env } = options;
  const rootFound = options.repoRoot ?? findRepoRoot(cwd);
  const machine = (async () => {
    const repoRoot = await rootFound;
    const { config } = await loadConfig(repoRoot ?? cwd, env);
    return { repoRoot, config, sandbox: await sandboxFor(config, env, cwd) };
  })();
  // Its errors are the plan's only once the prompts have none (`await machine` below).
  machine.catch(() => undefined);
  const analysis = await loadAnalysis(prompts, cwd);
  const { repoRoot, config, sandbox } = await machine;
  return { analysis, sandbox, schedule: await scheduleIn(analysis, repoRoot, cwd, env, options.maxParallel, config) };
}

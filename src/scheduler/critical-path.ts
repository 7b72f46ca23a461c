import type { ConflictIndex } from '../graph/conflicts.js';

/** A task still to run, as the critical path sees it. */
export interface PathTask {
  id: string;
  dependsOn: readonly string[];
  /** Position in the order the prompt files were given. */
  order: number;
}

/** Where a task's expected duration comes from. */
export type DurationSource = 'earlier-run' | 'this-run' | 'unit';

export interface ExpectedDurations {
  /** Expected duration of each task: milliseconds when anything was measured, else 1 per task. */
  byId: Map<string, number>;
  source: Map<string, DurationSource>;
  /** False when nothing was measured: every task counts one unit and the lengths are counts of tasks. */
  measured: boolean;
}

/** The median of some numbers (the mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * Each task's expected duration: what the same task id took in an earlier run of the same
 * repository, else the median of the tasks finished in this run, else one unit. One unit is the
 * median of the earlier durations when some tasks have one (so measured and unmeasured tasks
 * are on the same scale), else 1 (nothing measured at all: lengths count tasks).
 */
export function expectedDurations(
  ids: readonly string[],
  earlier: ReadonlyMap<string, number>,
  finishedThisRun: readonly number[],
): ExpectedDurations {
  const byId = new Map<string, number>();
  const source = new Map<string, DurationSource>();
  const thisRun = median(finishedThisRun);
  const unit = median(ids.flatMap((id) => (earlier.has(id) ? [earlier.get(id)!] : [])));
  for (const id of ids) {
    const known = earlier.get(id);
    if (known !== undefined) {
      byId.set(id, known);
      source.set(id, 'earlier-run');
    } else if (thisRun !== undefined) {
      byId.set(id, thisRun);
      source.set(id, 'this-run');
    } else {
      byId.set(id, unit ?? 1);
      source.set(id, 'unit');
    }
  }
  return { byId, source, measured: thisRun !== undefined || unit !== undefined };
}

/**
 * How long the rest of the graph takes from each task on: its own expected duration plus the
 * longest remaining path of what must wait for it. What waits for a task is its dependents and,
 * for a pair of conflicting tasks (they never run at once), the one of the pair that should go
 * second: the one with the shorter dependency path, then the one that conflicts with fewer
 * tasks, then the one given later. So a task that blocks long chains or many conflicting tasks
 * ranks high. Only the tasks given count (pass the ones still to run); every duration is taken
 * as at least 1 so that every chain is longer than its tail.
 */
export function remainingPaths(
  tasks: readonly PathTask[],
  durations: ReadonlyMap<string, number>,
  conflicts: ConflictIndex,
): Map<string, number> {
  const { successors } = orientedGraph(tasks, durations, conflicts);
  const remaining = new Map<string, number>();
  const visit = (id: string): number => {
    const known = remaining.get(id);
    if (known !== undefined) return known;
    // Successors always come later in the total order (see orientedGraph), so this ends.
    const after = Math.max(0, ...(successors.get(id) ?? []).map(visit));
    const value = durationOf(durations, id) + after;
    remaining.set(id, value);
    return value;
  };
  for (const task of tasks) visit(task.id);
  return remaining;
}

export interface CriticalPath {
  /** The longest chain of tasks (dependencies and conflicts), first to last. */
  path: string[];
  /** Its expected length, in the durations' scale. */
  length: number;
}

/** The longest chain through the tasks given, following dependents and conflicts as remainingPaths does. */
export function criticalPath(tasks: readonly PathTask[], durations: ReadonlyMap<string, number>, conflicts: ConflictIndex): CriticalPath {
  const remaining = remainingPaths(tasks, durations, conflicts);
  const { successors, position } = orientedGraph(tasks, durations, conflicts);
  const best = (ids: readonly string[]): string | undefined =>
    ids.reduce<string | undefined>((top, id) => {
      if (top === undefined) return id;
      const difference = remaining.get(id)! - remaining.get(top)!;
      return difference > 0 || (difference === 0 && position.get(id)! < position.get(top)!) ? id : top;
    }, undefined);
  const path: string[] = [];
  let current = best(tasks.map((task) => task.id));
  const length = current === undefined ? 0 : remaining.get(current)!;
  while (current !== undefined) {
    path.push(current);
    current = best(successors.get(current) ?? []);
  }
  return { path, length };
}

export interface SimulatedRun {
  /** When the last task ends, from the start. */
  length: number;
  /** max(critical path, total work ÷ slots): no schedule can be shorter. */
  lowerBound: number;
}

/**
 * Plays the scheduler's rule over the expected durations: whenever a slot is free, the ready
 * task with the highest priority, then the longest remaining path, then the earliest given, that
 * conflicts with nothing running. The graph must be acyclic.
 */
export function simulateRun(
  tasks: ReadonlyArray<PathTask & { priority: number }>,
  durations: ReadonlyMap<string, number>,
  conflicts: ConflictIndex,
  slots: number,
): SimulatedRun {
  const remaining = remainingPaths(tasks, durations, conflicts);
  const ranked = [...tasks].sort((a, b) => b.priority - a.priority || remaining.get(b.id)! - remaining.get(a.id)! || a.order - b.order);
  const done = new Set<string>();
  const running = new Map<string, number>();
  let now = 0;
  while (done.size < tasks.length) {
    for (const task of ranked) {
      if (running.size >= Math.max(1, slots)) break;
      if (done.has(task.id) || running.has(task.id)) continue;
      if (!task.dependsOn.every((dep) => done.has(dep) || !remaining.has(dep))) continue;
      if (conflicts.conflictsWithAny(task.id, running.keys())) continue;
      running.set(task.id, now + durationOf(durations, task.id));
    }
    if (running.size === 0) throw new Error('simulateRun: no task can start (a dependency cycle?)');
    now = Math.min(...running.values());
    for (const [id, end] of running) {
      if (end > now) continue;
      running.delete(id);
      done.add(id);
    }
  }
  const work = tasks.reduce((total, task) => total + durationOf(durations, task.id), 0);
  return { length: now, lowerBound: Math.max(criticalPath(tasks, durations, conflicts).length, work / Math.max(1, slots)) };
}

function durationOf(durations: ReadonlyMap<string, number>, id: string): number {
  return Math.max(1, durations.get(id) ?? 1);
}

/**
 * The graph remainingPaths walks: dependency edges (dependency → dependent) and each conflict
 * oriented from the task that should go first to the other. Tasks are totally ordered by
 * dependency-only path (longest first), then conflict count (most first), then given order; a
 * dependency's path is strictly longer than its dependent's, so every edge points forward in
 * that order and the graph is acyclic.
 */
function orientedGraph(
  tasks: readonly PathTask[],
  durations: ReadonlyMap<string, number>,
  conflicts: ConflictIndex,
): { successors: Map<string, string[]>; position: Map<string, number> } {
  const present = new Set(tasks.map((task) => task.id));
  const dependents = new Map<string, string[]>();
  for (const task of tasks)
    for (const dep of task.dependsOn) if (present.has(dep)) dependents.set(dep, [...(dependents.get(dep) ?? []), task.id]);

  const chain = new Map<string, number>();
  const visiting = new Set<string>();
  const chainOf = (id: string): number => {
    const known = chain.get(id);
    if (known !== undefined) return known;
    if (visiting.has(id)) throw new Error(`remainingPaths: dependency cycle through ${id}`);
    visiting.add(id);
    const value = durationOf(durations, id) + Math.max(0, ...(dependents.get(id) ?? []).map(chainOf));
    visiting.delete(id);
    chain.set(id, value);
    return value;
  };
  const partners = new Map(tasks.map((task) => [task.id, conflicts.partnersOf(task.id).filter((other) => present.has(other))]));
  const sorted = [...tasks].sort(
    (a, b) => chainOf(b.id) - chainOf(a.id) || partners.get(b.id)!.length - partners.get(a.id)!.length || a.order - b.order,
  );
  const position = new Map(sorted.map((task, index) => [task.id, index]));
  const successors = new Map<string, string[]>();
  for (const task of tasks) {
    const later = partners.get(task.id)!.filter((other) => position.get(other)! > position.get(task.id)!);
    successors.set(task.id, [...(dependents.get(task.id) ?? []), ...later]);
  }
  return { successors, position };
}

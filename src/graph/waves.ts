import type { ConflictIndex } from './conflicts.js';

export interface WaveTask {
  id: string;
  dependsOn: readonly string[];
  priority: number;
  /** Position in the order the prompt files were given. */
  order: number;
}

/** Higher priority first, then the order the files were given. */
export function byPriorityThenOrder(a: Pick<WaveTask, 'priority' | 'order'>, b: Pick<WaveTask, 'priority' | 'order'>): number {
  return b.priority - a.priority || a.order - b.order;
}

/**
 * For a conflicting pair, which runs first in the plan's schedule (its wave comes first): the
 * other builds on it, its branch made with the first one's work merged in.
 */
export function conflictOrder(waves: readonly (readonly string[])[], a: string, b: string): { first: string; then: string } {
  const waveOf = (id: string): number => waves.findIndex((wave) => wave.includes(id));
  return waveOf(b) < waveOf(a) ? { first: b, then: a } : { first: a, then: b };
}

/**
 * One valid schedule, shown by `orch plan`: each wave holds tasks whose dependencies are all in
 * earlier waves and that are pairwise conflict-free. The graph must be acyclic.
 */
export function computeWaves(tasks: readonly WaveTask[], conflicts: ConflictIndex): string[][] {
  const sorted = [...tasks].sort(byPriorityThenOrder);
  const placed = new Set<string>();
  const waves: string[][] = [];
  while (placed.size < sorted.length) {
    const wave: string[] = [];
    for (const task of sorted) {
      if (placed.has(task.id)) continue;
      if (!task.dependsOn.every((dep) => placed.has(dep))) continue;
      if (conflicts.conflictsWithAny(task.id, wave)) continue;
      wave.push(task.id);
    }
    if (wave.length === 0) throw new Error('computeWaves: the dependency graph has a cycle');
    for (const id of wave) placed.add(id);
    waves.push(wave);
  }
  return waves;
}

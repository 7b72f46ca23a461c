import picomatch from 'picomatch';
import { isGlob } from '../prompt/paths.js';

export interface Conflict {
  a: string;
  b: string;
  /** The paths both tasks would touch. */
  files: string[];
}

interface FileFootprint {
  id: string;
  literals: string[];
  globs: picomatch.Matcher[];
  /** Literal paths plus the tracked files the globs match. */
  concrete: Set<string>;
}

function isUnder(file: string, dir: string): boolean {
  const prefix = dir.replace(/\/+$/, '');
  return prefix.length > 0 && file.startsWith(`${prefix}/`);
}

function footprint(id: string, files: readonly string[], tracked: readonly string[]): FileFootprint {
  const literals = files.filter((file) => !isGlob(file)).map((file) => file.replace(/\/+$/, ''));
  const patterns = files.filter(isGlob);
  const globs = patterns.map((pattern) => picomatch(pattern, { dot: true }));
  const concrete = new Set(literals);
  if (globs.length > 0) for (const file of tracked) if (globs.some((matches) => matches(file))) concrete.add(file);
  return { id, literals, globs, concrete };
}

/** The paths of `from` that `other` also touches: same path, inside one of its directories, or matched by its globs. */
function touchedByBoth(from: FileFootprint, other: FileFootprint, shared: Set<string>): void {
  for (const file of from.concrete) {
    if (other.concrete.has(file) || other.literals.some((dir) => isUnder(file, dir)) || other.globs.some((matches) => matches(file))) {
      shared.add(file);
    }
  }
}

/**
 * Two tasks conflict when their file sets overlap. Globs are matched against the repository's
 * tracked files and against the other task's literal paths. Two globs that match no common
 * tracked file do not conflict (orch cannot know which new files they would create).
 */
export function findConflicts(tasks: ReadonlyArray<{ id: string; files: readonly string[] }>, tracked: readonly string[]): Conflict[] {
  const footprints = tasks.map((task) => footprint(task.id, task.files, tracked));
  const conflicts: Conflict[] = [];
  for (let i = 0; i < footprints.length; i++) {
    for (let j = i + 1; j < footprints.length; j++) {
      const a = footprints[i]!;
      const b = footprints[j]!;
      const shared = new Set<string>();
      touchedByBoth(a, b, shared);
      touchedByBoth(b, a, shared);
      if (shared.size > 0) conflicts.push({ a: a.id, b: b.id, files: [...shared].sort() });
    }
  }
  return conflicts;
}

/** A fast lookup of conflicting pairs. */
export class ConflictIndex {
  private readonly partners = new Map<string, Set<string>>();

  constructor(conflicts: ReadonlyArray<Pick<Conflict, 'a' | 'b'>>) {
    for (const { a, b } of conflicts) {
      this.add(a, b);
      this.add(b, a);
    }
  }

  private add(from: string, to: string): void {
    const set = this.partners.get(from) ?? new Set<string>();
    set.add(to);
    this.partners.set(from, set);
  }

  /** The tasks `id` conflicts with. */
  partnersOf(id: string): string[] {
    return [...(this.partners.get(id) ?? [])];
  }

  conflictsWithAny(id: string, others: Iterable<string>): boolean {
    const partners = this.partners.get(id);
    if (!partners) return false;
    for (const other of others) if (partners.has(other)) return true;
    return false;
  }
}

import type { MergeStatus, TaskStatus } from '../domain/vocabulary.js';

/** What the merge queue needs to know of a task. */
export interface MergeCandidate {
  id: string;
  status: TaskStatus;
  /** Position in the run (the order its prompt files were given). */
  order: number;
  dependsOn: readonly string[];
  /** Conflicting tasks whose branches were merged into this one's before it started. */
  builtOn: readonly string[];
  mergeStatus?: MergeStatus | undefined;
  /** On the integration branch already, its check still to come (pending with a commit). */
  integrated?: boolean | undefined;
}

/** The tasks a task's branch contains the work of: it can only be integrated after them. */
export function prerequisites(task: Pick<MergeCandidate, 'dependsOn' | 'builtOn'>): string[] {
  return [...new Set([...task.dependsOn, ...task.builtOn])];
}

/**
 * The order tasks are integrated in: prerequisites first (a topological order of dependencies
 * and built-on edges), then the run's own order. Every task of the run is placed, so the order is
 * stable whatever has succeeded yet.
 */
export function mergeOrder(tasks: readonly MergeCandidate[]): string[] {
  const byId = new Map(tasks.map((task) => [task.id, task]));
  const placed = new Set<string>();
  const order: string[] = [];
  const sorted = [...tasks].sort((a, b) => a.order - b.order);
  while (placed.size < sorted.length) {
    const next = sorted.find((task) => !placed.has(task.id) && prerequisites(task).every((id) => placed.has(id) || !byId.has(id)));
    // A cycle cannot happen (dependencies are acyclic, built-on points at tasks that finished
    // before): should it, take the run's order rather than stop.
    const chosen = next ?? sorted.find((task) => !placed.has(task.id))!;
    placed.add(chosen.id);
    order.push(chosen.id);
  }
  return order;
}

/** What becomes of a task in the queue now. */
export type MergeReadiness =
  | { kind: 'ready' }
  /** A prerequisite has not been integrated yet but still may be. */
  | { kind: 'wait'; for: string }
  /** It can never be integrated in this run: its branch holds work that was not. */
  | { kind: 'held'; reason: string }
  /** Nothing to do: not succeeded, or already decided. */
  | { kind: 'skip' };

/**
 * Whether a task may be integrated now: it succeeded, is not decided yet, and every task its
 * branch contains the work of has been integrated. A prerequisite that failed, or whose
 * integration failed, holds it back for good.
 */
export function readiness(task: MergeCandidate, byId: ReadonlyMap<string, MergeCandidate>): MergeReadiness {
  if (task.status !== 'succeeded' || (task.mergeStatus !== undefined && task.mergeStatus !== 'pending')) return { kind: 'skip' };
  for (const id of prerequisites(task)) {
    const prerequisite = byId.get(id);
    if (!prerequisite) continue;
    const relation = task.dependsOn.includes(id) ? 'its dependency' : 'the task it was built on';
    if (prerequisite.mergeStatus === 'merged' || prerequisite.integrated) continue;
    if (prerequisite.mergeStatus === 'conflict' || prerequisite.mergeStatus === 'check-failed' || prerequisite.mergeStatus === 'held') {
      return { kind: 'held', reason: `${relation} ${id} was not integrated (${prerequisite.mergeStatus})` };
    }
    if (prerequisite.status === 'failed' || prerequisite.status === 'skipped') {
      return { kind: 'held', reason: `${relation} ${id} ${prerequisite.status}` };
    }
    return { kind: 'wait', for: id };
  }
  return { kind: 'ready' };
}

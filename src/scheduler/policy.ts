import type { ConflictIndex } from '../graph/conflicts.js';
import type { TaskStatus } from '../domain/vocabulary.js';

export interface SchedulableTask {
  id: string;
  status: TaskStatus;
  dependsOn: readonly string[];
  priority: number;
  order: number;
  /** A failed task waiting out its retry backoff (ms since epoch). */
  retryAt?: number | undefined;
  /** The expected length of the rest of the graph from this task on (see critical-path.ts). */
  remaining?: number | undefined;
}

/** Higher priority first, then the longer remaining path (the critical path first), then the order given. */
export function byPriorityThenPath(a: SchedulableTask, b: SchedulableTask): number {
  return b.priority - a.priority || (b.remaining ?? 0) - (a.remaining ?? 0) || a.order - b.order;
}

/**
 * The pending tasks to start now, best first (priority, then the longest remaining path, then the
 * order given): every dependency succeeded, no conflict with a running task (or with another task
 * picked in the same call), backoff over, within capacity.
 */
export function pickReady(
  tasks: readonly SchedulableTask[],
  running: ReadonlySet<string>,
  capacity: number,
  conflicts: ConflictIndex,
  now: number,
): string[] {
  if (capacity <= 0) return [];
  const statusOf = new Map(tasks.map((task) => [task.id, task.status]));
  const busy = new Set(running);
  const picked: string[] = [];
  for (const task of [...tasks].sort(byPriorityThenPath)) {
    if (picked.length >= capacity) break;
    if (task.status !== 'pending' || busy.has(task.id)) continue;
    if (task.retryAt !== undefined && task.retryAt > now) continue;
    if (!task.dependsOn.every((dep) => statusOf.get(dep) === 'succeeded')) continue;
    if (conflicts.conflictsWithAny(task.id, busy)) continue;
    picked.push(task.id);
    busy.add(task.id);
  }
  return picked;
}

/**
 * Pending tasks that can never run because a dependency failed or was skipped, with the
 * dependency to blame. Applied repeatedly, this skips whole chains.
 */
export function blockedTasks(tasks: readonly SchedulableTask[]): Map<string, string> {
  const statusOf = new Map(tasks.map((task) => [task.id, task.status]));
  const blocked = new Map<string, string>();
  for (const task of tasks) {
    if (task.status !== 'pending') continue;
    const cause = task.dependsOn.find((dep) => {
      const status = statusOf.get(dep);
      return status === 'failed' || status === 'skipped';
    });
    if (cause !== undefined) blocked.set(task.id, cause);
  }
  return blocked;
}

export interface ExitedAttempt {
  /** The task whose agent exited. */
  id: string;
  /** Its outcome as read from the agent's exit and stream (the work is not saved yet). */
  outcome: 'succeeded' | 'failed' | 'interrupted';
  /** The circuit breaker or the fallback pass: one task at a time, start to end. */
  sequential: boolean;
}

/**
 * Whether an attempt whose agent has exited gives its agent slot to the next task before its work
 * is saved (the refs guard's check, the commit of what the agent left: orch's own short git work,
 * no agent). Only after a success: a failure keeps its slot until the engine has applied the
 * retry policy, the circuit breaker and the API pressure its result shows. Never in sequential
 * mode. Nor when a pending task waits for this one, as a dependency or for the files both edit:
 * at its end that task may start in this slot, ahead of tasks ranked after it.
 */
export function freesSlotAtExit(exited: ExitedAttempt, tasks: readonly SchedulableTask[], conflicts: ConflictIndex): boolean {
  if (exited.outcome !== 'succeeded' || exited.sequential) return false;
  const partners = new Set(conflicts.partnersOf(exited.id));
  return !tasks.some((task) => task.status === 'pending' && (task.dependsOn.includes(exited.id) || partners.has(task.id)));
}

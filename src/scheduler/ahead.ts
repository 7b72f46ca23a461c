import { byPriorityThenPath, type SchedulableTask } from './policy.js';

/**
 * The tasks whose worktrees are worth making ahead of time, in the order the scheduler will
 * admit them (priority, critical path, given order), at most `limit` of them: pending tasks not
 * yet admitted that can still run and wait only for what is under way now — a running
 * dependency, a running conflicting task, a retry backoff, a free slot. Not a task whose
 * dependency is still pending (it is further away than the next admissions), nor one that can
 * never run (a dependency failed, was skipped or interrupted).
 */
export function aheadOfTime(tasks: readonly SchedulableTask[], running: ReadonlySet<string>, limit: number): string[] {
  if (limit <= 0) return [];
  const statusOf = new Map(tasks.map((task) => [task.id, task.status]));
  const underWay = (id: string): boolean => running.has(id) || statusOf.get(id) === 'running';
  const picked: string[] = [];
  for (const task of [...tasks].sort(byPriorityThenPath)) {
    if (picked.length >= limit) break;
    if (task.status !== 'pending' || underWay(task.id)) continue;
    if (!task.dependsOn.every((dependency) => statusOf.get(dependency) === 'succeeded' || underWay(dependency))) continue;
    picked.push(task.id);
  }
  return picked;
}

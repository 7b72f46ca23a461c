import type { Registry, TaskRecord } from '../state/registry.js';
import { attemptMs, sessionEndMs, taskAgentMs } from './attempt-time.js';

/** How long the run has been driven so far: every session, the live one up to now. */
export function runElapsedMs(registry: Registry, now: number): number {
  const { run } = registry;
  return run.sessions.reduce((total, session, index) => {
    const live = index === run.sessions.length - 1 && run.status === 'running' && !session.finishedAt;
    const end = live ? now : sessionEndMs(session);
    return total + Math.max(0, end - Date.parse(session.startedAt));
  }, 0);
}

/**
 * An estimate of the time left, from what has been measured: a task takes what the tasks that
 * succeeded took on average (a running one, that less what it has run), and the run needs the
 * longer of its critical path (the longest chain of dependencies still to run) and its remaining
 * work spread over the concurrency limit, plus what is left of a usage-limit pause. Undefined
 * until a task has succeeded, and for a run that is not running.
 */
export function estimateRemainingMs(registry: Registry, now: number): number | undefined {
  const { run, tasks } = registry;
  if (run.status !== 'running' || run.halted) return undefined;
  const done = tasks.filter((task) => task.status === 'succeeded' && task.attemptLog.length > 0);
  if (done.length === 0) return undefined;
  const typical = done.reduce((total, task) => total + taskAgentMs(task, run.sessions, now), 0) / done.length;
  const byId = new Map(tasks.map((task) => [task.id, task]));

  const willRun = (task: TaskRecord, seen: Set<string> = new Set()): boolean => {
    if (task.status === 'running') return true;
    if (task.status !== 'pending' || seen.has(task.id)) return false;
    seen.add(task.id);
    return task.dependsOn.every((id) => {
      const dependency = byId.get(id);
      return dependency !== undefined && (dependency.status === 'succeeded' || willRun(dependency, seen));
    });
  };
  const remaining = (task: TaskRecord): number => {
    if (!willRun(task)) return 0;
    if (task.status === 'pending') return typical;
    const current = task.attemptLog.at(-1);
    return Math.max(0, typical - (current ? attemptMs(task, current, run.sessions, now) : 0));
  };
  const finish = new Map<string, number>();
  const finishOf = (task: TaskRecord, path: Set<string> = new Set()): number => {
    const known = finish.get(task.id);
    if (known !== undefined) return known;
    if (path.has(task.id)) return 0;
    path.add(task.id);
    const before = Math.max(
      0,
      ...task.dependsOn
        .map((id) => byId.get(id))
        .filter((dependency) => dependency !== undefined)
        .map((dependency) => finishOf(dependency, path)),
    );
    const value = remaining(task) + before;
    finish.set(task.id, value);
    return value;
  };
  const criticalPath = Math.max(0, ...tasks.map((task) => finishOf(task)));
  const work = tasks.reduce((total, task) => total + remaining(task), 0) / Math.max(1, run.limit.value);
  const pausedUntil = run.usageLimit?.pausedUntil ? Date.parse(run.usageLimit.pausedUntil) : 0;
  return Math.round(Math.max(criticalPath, work) + Math.max(0, pausedUntil - now));
}

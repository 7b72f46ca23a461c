import type { MergeSummary, RunSummary, TaskSummary } from '../events.js';
import type { Registry, TaskRecord } from '../state/registry.js';
import { TASK_STATUSES, type RunStatus, type TaskStatus } from '../domain/vocabulary.js';
import { EXIT } from '../domain/exit-codes.js';
import { describeChange } from '../worktree/refs-guard.js';
import { sessionEndMs, taskAgentMs } from './attempt-time.js';

/**
 * How long one orchestrator drove the run: to its end, or, for one that died (kill -9, a crash),
 * to its last heartbeat. Never "up to now": a dead session must not overlap the one that resumed it.
 */
function sessionMs(session: { startedAt: string; lastAliveAt?: string | undefined; finishedAt?: string | undefined }): number {
  return Math.max(0, sessionEndMs(session) - Date.parse(session.startedAt));
}

/** How many tasks are in each status (every status present, zeros included). */
export function countStatuses(tasks: readonly TaskRecord[]): Record<TaskStatus, number> {
  const counts = Object.fromEntries(TASK_STATUSES.map((status) => [status, 0])) as Record<TaskStatus, number>;
  for (const task of tasks) counts[task.status] += 1;
  return counts;
}

/** The run's figures, all measured from the registry's timestamps. */
export function summarize(registry: Registry, now: number = Date.now()): RunSummary {
  const tasks: TaskSummary[] = registry.tasks.map((task) => {
    const summary: TaskSummary = {
      id: task.id,
      status: task.status,
      durationMs: taskAgentMs(task, registry.run.sessions, now),
      branch: task.branch,
      commits: task.commits.length,
      attempts: task.attempts,
      succeededInFallback: task.succeededInFallback === true,
      refsRestored: task.attemptLog.flatMap((attempt) => [
        ...(attempt.refsRestored ?? []).map(describeChange),
        ...(attempt.refsProblems ?? []),
      ]),
    };
    if (task.turns !== undefined) summary.turns = task.turns;
    if (task.costUsd !== undefined) summary.costUsd = task.costUsd;
    if (task.reason !== undefined) summary.reason = task.reason;
    return summary;
  });
  const wallMs = registry.run.sessions.reduce((total, session) => total + sessionMs(session), 0);
  const taskTimeMs = tasks.reduce((total, task) => total + task.durationMs, 0);
  return {
    runId: registry.run.id,
    tasks,
    counts: countStatuses(registry.tasks),
    wallMs,
    taskTimeMs,
    averageConcurrency: wallMs > 0 ? taskTimeMs / wallMs : 0,
    costUsd: tasks.reduce((total, task) => total + (task.costUsd ?? 0), 0),
  };
}

/**
 * How a run ends, from what happened to it: aborted (its own code), interrupted (130), failed (1),
 * paused (75: it stopped admitting tasks on purpose — a usage limit beyond --max-wait, the budget —
 * and tasks are left for `orch resume`), succeeded (0). A failure outranks a pause: it needs a look.
 */
export function runEnding(
  counts: Record<TaskStatus, number>,
  interrupted: boolean,
  abortExitCode: number | undefined,
  merge?: MergeSummary,
  halted = false,
): { status: RunStatus; exitCode: number } {
  if (abortExitCode !== undefined) return { status: 'aborted', exitCode: abortExitCode };
  if (interrupted) return { status: 'interrupted', exitCode: EXIT.interrupted };
  if (counts.failed > 0 || counts.skipped > 0) return { status: 'failed', exitCode: EXIT.failed };
  if (halted && counts.pending > 0) return { status: 'paused', exitCode: EXIT.paused };
  // With --merge the run is only a success when every task was integrated too.
  if (merge && (merge.counts.merged < merge.tasks.length || merge.into?.moved === false))
    return { status: 'failed', exitCode: EXIT.failed };
  return { status: 'succeeded', exitCode: EXIT.ok };
}

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LineFollower } from '../agent/follow.js';
import { parseStreamLine, type StreamEvent } from '../agent/stream.js';
import { UserError } from '../errors.js';
import { isAlive } from '../process/process-info.js';
import type { Registry, TaskRecord } from '../state/registry.js';
import { loadRun } from '../state/runs.js';

export type LogEntry = { kind: 'heading'; text: string } | { kind: 'event'; event: StreamEvent } | { kind: 'raw'; text: string };

function findTask(registry: Registry, taskId: string): TaskRecord {
  const task = registry.tasks.find((candidate) => candidate.id === taskId);
  if (!task)
    throw new UserError(
      `no task "${taskId}" in run ${registry.run.id} (tasks: ${registry.tasks.map((candidate) => candidate.id).join(', ')}).`,
    );
  return task;
}

export interface LogsOptions {
  runId?: string | undefined;
  attempt?: number | undefined;
  follow: boolean;
  raw: boolean;
}

/**
 * Streams a task's agent transcript: its setup log, then each attempt's stream-json log as
 * events (or raw lines). With `follow`, keeps reading while the task runs — moving on to new
 * attempts as they start — and stops when it is over or nobody is running it any more.
 */
export async function streamLogs(repoRoot: string, taskId: string, options: LogsOptions, emit: (entry: LogEntry) => void): Promise<void> {
  let { registry, paths } = await loadRun(repoRoot, options.runId);
  const runId = registry.run.id;
  let task = findTask(registry, taskId);
  if (options.attempt !== undefined && (options.attempt < 1 || options.attempt > task.attempts)) {
    throw new UserError(
      `task ${taskId} has ${task.attempts} attempt${task.attempts === 1 ? '' : 's'}; --attempt must be between 1 and ${Math.max(1, task.attempts)}.`,
    );
  }
  const line = (text: string): void => {
    if (options.raw) emit({ kind: 'raw', text });
    else {
      const event = parseStreamLine(text);
      emit(event ? { kind: 'event', event } : { kind: 'raw', text });
    }
  };

  const setup = await readFile(path.join(paths.logs, `${taskId}.setup.log`), 'utf8').catch(() => undefined);
  if (setup !== undefined && !options.raw) {
    emit({ kind: 'heading', text: `setup (logs/${taskId}.setup.log)` });
    for (const text of setup.trimEnd().split('\n')) emit({ kind: 'raw', text });
  }

  if (task.attempts === 0 && !options.follow) {
    emit({ kind: 'heading', text: `task ${taskId} has not started yet (${task.status}${task.reason ? `: ${task.reason}` : ''})` });
    return;
  }
  // The latest attempt (or the one asked for); with --follow, the ones after it as they start.
  const first = options.attempt ?? Math.max(1, task.attempts);
  const last = options.follow ? Number.POSITIVE_INFINITY : first;
  for (let number = first; number <= last; number++) {
    // With --follow, wait for the attempt to exist (a pending task, a retry in its backoff).
    while (task.attempts < number) {
      if (!options.follow || isOver(registry, task)) return;
      await sleep(500);
      ({ registry, paths } = await loadRun(repoRoot, runId));
      task = findTask(registry, taskId);
    }
    const attempt = task.attemptLog[number - 1]!;
    emit({ kind: 'heading', text: `attempt ${number} (${attempt.kind}) · ${attempt.log}` });
    const follower = new LineFollower(path.join(paths.dir, attempt.log), line);
    if (!options.follow) {
      await follower.stop();
      continue;
    }
    for (;;) {
      await follower.poll();
      ({ registry, paths } = await loadRun(repoRoot, runId));
      task = findTask(registry, taskId);
      if (task.attempts > number || isOver(registry, task)) break;
      await sleep(300);
    }
    await follower.stop();
    if (isOver(registry, task) && task.attempts <= number) return;
  }
}

/** Nothing more will be written for this task: it ended, or no live orchestrator is running it. */
function isOver(registry: Registry, task: TaskRecord): boolean {
  if (task.status === 'succeeded' || task.status === 'failed' || task.status === 'skipped' || task.status === 'interrupted') return true;
  if (task.status === 'running' && isAlive(task.agent)) return false;
  return registry.run.status !== 'running' || !isAlive(registry.run.orchestrator);
}

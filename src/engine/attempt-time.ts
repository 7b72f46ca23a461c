import type { Registry, TaskRecord } from '../state/registry.js';

type Session = Registry['run']['sessions'][number];
type Attempt = TaskRecord['attemptLog'][number];

/** When a session stopped driving the run: its end, or for one that died (kill -9), its last heartbeat. */
export function sessionEndMs(session: Pick<Session, 'startedAt' | 'lastAliveAt' | 'finishedAt'>): number {
  return Date.parse(session.finishedAt ?? session.lastAliveAt ?? session.startedAt);
}

/**
 * Milliseconds an attempt ran. A finished attempt: to its finish. The task's current attempt
 * while the task runs (an adopted one included): up to now. Any other unfinished attempt was cut
 * short with the orchestrator that started it (killed, then resumed with a new attempt): it counts
 * up to that session's end (its last heartbeat), never up to now. Counting it up to now made a
 * resumed run's task time grow for as long as the run existed, and "agents at once" exceed the
 * limit (a one-task run reported 4.70).
 */
export function attemptMs(
  task: Pick<TaskRecord, 'status' | 'attemptLog'>,
  attempt: Pick<Attempt, 'startedAt' | 'finishedAt'>,
  sessions: ReadonlyArray<Pick<Session, 'startedAt' | 'lastAliveAt' | 'finishedAt'>>,
  now: number,
): number {
  const start = Date.parse(attempt.startedAt);
  let end: number;
  if (attempt.finishedAt) end = Date.parse(attempt.finishedAt);
  else if (task.status === 'running' && task.attemptLog.at(-1) === attempt) end = now;
  else {
    // The last session that started no later than the attempt is the one that started it.
    const owner = sessions.filter((session) => Date.parse(session.startedAt) <= start).at(-1);
    end = owner ? Math.min(now, sessionEndMs(owner)) : start;
  }
  return Math.max(0, end - start);
}

/** The agent time a task took, every attempt summed. */
export function taskAgentMs(
  task: Pick<TaskRecord, 'status' | 'attemptLog'>,
  sessions: ReadonlyArray<Pick<Session, 'startedAt' | 'lastAliveAt' | 'finishedAt'>>,
  now: number,
): number {
  return task.attemptLog.reduce((total, attempt) => total + attemptMs(task, attempt, sessions, now), 0);
}

import { describe, expect, it } from 'vitest';
import { attemptMs, taskAgentMs } from '../../src/engine/attempt-time.js';
import type { TaskStatus } from '../../src/domain/vocabulary.js';

const at = (seconds: number): string => new Date(Date.parse('2026-01-01T00:00:00.000Z') + seconds * 1000).toISOString();
const now = Date.parse(at(100));

interface Row {
  case: string;
  status: TaskStatus;
  attempts: Array<{ startedAt: number; finishedAt?: number }>;
  sessions: Array<{ startedAt: number; lastAliveAt?: number; finishedAt?: number }>;
  /** Seconds each attempt counts. */
  expected: number[];
}

const rows: Row[] = [
  {
    case: 'a finished attempt: to its finish',
    status: 'succeeded',
    attempts: [{ startedAt: 1, finishedAt: 4 }],
    sessions: [{ startedAt: 0, finishedAt: 5 }],
    expected: [3],
  },
  {
    case: 'the running task’s current attempt: up to now',
    status: 'running',
    attempts: [{ startedAt: 90 }],
    sessions: [{ startedAt: 80 }],
    expected: [10],
  },
  {
    case: 'an attempt adopted by a resumed session (still unfinished, its task running): up to now',
    status: 'running',
    attempts: [{ startedAt: 1 }],
    sessions: [{ startedAt: 0, lastAliveAt: 3 }, { startedAt: 50 }],
    expected: [99],
  },
  {
    case: 'an attempt cut short with its orchestrator (kill -9), then a new attempt: up to that session’s last heartbeat',
    status: 'succeeded',
    attempts: [{ startedAt: 1 }, { startedAt: 51, finishedAt: 53 }],
    sessions: [
      { startedAt: 0, lastAliveAt: 3 },
      { startedAt: 50, finishedAt: 54 },
    ],
    expected: [2, 2],
  },
  {
    case: 'a cut-short attempt whose session died before its first heartbeat counts nothing',
    status: 'pending',
    attempts: [{ startedAt: 1 }],
    sessions: [{ startedAt: 0 }, { startedAt: 50 }],
    expected: [0],
  },
  {
    case: 'a cut-short attempt of an earlier session, while the task runs again in the live one',
    status: 'running',
    attempts: [{ startedAt: 1 }, { startedAt: 60 }],
    sessions: [{ startedAt: 0, lastAliveAt: 5 }, { startedAt: 50 }],
    expected: [4, 40],
  },
];

describe('attemptMs: how long an attempt counts', () => {
  it.each(rows)('$case', (row) => {
    const task = {
      status: row.status,
      attemptLog: row.attempts.map((attempt) => ({
        startedAt: at(attempt.startedAt),
        ...(attempt.finishedAt === undefined ? {} : { finishedAt: at(attempt.finishedAt) }),
      })),
    };
    const sessions = row.sessions.map((session) => ({
      startedAt: at(session.startedAt),
      ...(session.lastAliveAt === undefined ? {} : { lastAliveAt: at(session.lastAliveAt) }),
      ...(session.finishedAt === undefined ? {} : { finishedAt: at(session.finishedAt) }),
    }));
    // attemptMs only reads these fields: the records are cut down to them.
    const log = task.attemptLog as unknown as Parameters<typeof taskAgentMs>[0]['attemptLog'];
    const typed = { status: task.status, attemptLog: log };
    expect(log.map((attempt) => attemptMs(typed, attempt, sessions, now) / 1000)).toEqual(row.expected);
    expect(taskAgentMs(typed, sessions, now) / 1000).toBe(row.expected.reduce((a, b) => a + b, 0));
  });
});

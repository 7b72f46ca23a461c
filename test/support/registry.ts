import type { Registry, TaskRecord } from '../../src/state/registry.js';
import { attemptRecord, taskRecord } from './records.js';

export const T0 = Date.parse('2026-01-01T00:00:00.000Z');
export const at = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString();

/** A task that ran one attempt from `start` to `end` (seconds after T0; no end: still running). */
export function ranTask(
  id: string,
  status: TaskRecord['status'],
  start: number,
  end?: number,
  overrides: Partial<TaskRecord> = {},
): TaskRecord {
  const attempt = attemptRecord('fresh', {
    startedAt: at(start),
    ...(end !== undefined ? { finishedAt: at(end), outcome: status === 'succeeded' || status === 'failed' ? status : 'interrupted' } : {}),
  });
  return taskRecord({ id, title: id, status, attempts: 1, attemptLog: [attempt], branch: `orch/r/${id}`, ...overrides });
}

/** A registry for render and estimate tests: one session from T0, `tasks` as given. */
export function registryOf(tasks: TaskRecord[], run: Partial<Registry['run']> = {}): Registry {
  return {
    run: {
      version: 1,
      id: '20260101-000000-abcd',
      repoRoot: '/repo',
      baseRef: 'main',
      baseSha: 'abc',
      promptFiles: [],
      worktreeRoot: '/w',
      config: {},
      conflicts: [],
      orchestrator: { pid: 1, startTime: 'x', host: 'h' },
      sessions: [{ pid: 1, startedAt: at(0) }],
      startedAt: at(0),
      heartbeatAt: at(0),
      status: 'running',
      mode: 'parallel',
      limit: { value: 2, reason: 'cores' },
      ...run,
    },
    tasks: tasks.map((task, order) => ({ ...task, order })),
  };
}

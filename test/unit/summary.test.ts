import { describe, expect, it } from 'vitest';
import { summarize } from '../../src/engine/summary.js';
import type { Registry } from '../../src/state/registry.js';
import { attemptRecord, taskRecord } from '../support/records.js';

const at = (seconds: number): string => new Date(Date.parse('2026-01-01T00:00:00.000Z') + seconds * 1000).toISOString();

function registry(sessions: Registry['run']['sessions'], attempts: Array<[number, number]>): Registry {
  return {
    run: {
      version: 1,
      id: 'r',
      repoRoot: '/r',
      baseRef: 'HEAD',
      baseSha: 'abc',
      promptFiles: [],
      worktreeRoot: '/w',
      config: {},
      conflicts: [],
      orchestrator: { pid: 1, startTime: '1', host: 'h' },
      sessions,
      startedAt: at(0),
      heartbeatAt: at(0),
      status: 'succeeded',
      mode: 'parallel',
      limit: { value: 1, reason: 'cores' },
    },
    tasks: [
      taskRecord({
        status: 'succeeded',
        costUsd: 0.5,
        attemptLog: attempts.map(([start, end], index) =>
          attemptRecord('fresh', { number: index + 1, startedAt: at(start), finishedAt: at(end) }),
        ),
      }),
    ],
  };
}

describe('summarize', () => {
  it('a session killed with kill -9 counts up to its last heartbeat, never up to now, so it does not overlap its resume', () => {
    // One 4 s agent: the first orchestrator started it and was killed at ~2 s (last heartbeat at 2 s);
    // the resumed one adopted it 5 s later and finished at 9 s.
    const summary = summarize(
      registry(
        [
          { pid: 1, startedAt: at(0), lastAliveAt: at(2) },
          { pid: 2, startedAt: at(7), lastAliveAt: at(9), finishedAt: at(9) },
        ],
        [[0.5, 4.5]],
      ),
      Date.parse(at(100)),
    );
    expect(summary.wallMs).toBe(4000);
    expect(summary.taskTimeMs).toBe(4000);
    expect(summary.averageConcurrency).toBe(1);
    expect(summary.costUsd).toBe(0.5);
  });

  it('a session that died before its first heartbeat counts nothing', () => {
    expect(summarize(registry([{ pid: 1, startedAt: at(0) }], []), Date.parse(at(50))).wallMs).toBe(0);
  });

  it('average concurrency is task time over wall time: two agents side by side for the whole run make 2', () => {
    const summary = summarize(
      registry(
        [{ pid: 1, startedAt: at(0), finishedAt: at(10) }],
        [
          [0, 10],
          [0, 10],
        ],
      ),
    );
    expect(summary).toMatchObject({ wallMs: 10_000, taskTimeMs: 20_000, averageConcurrency: 2 });
  });
});

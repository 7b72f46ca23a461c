import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { earlierDurations, pendingRanks } from '../../src/engine/history.js';
import { ConflictIndex } from '../../src/graph/conflicts.js';
import { runPaths } from '../../src/state/paths.js';
import type { Registry, TaskRecord } from '../../src/state/registry.js';
import { writeRegistry } from '../../src/state/registry-file.js';
import { taskRecord } from '../support/records.js';
import { tempDir } from '../support/tmp.js';

/** Writes a finished run's registry with the given tasks under the repository's runs folder. */
async function earlierRun(repo: string, runId: string, tasks: Array<Partial<TaskRecord>>): Promise<void> {
  const paths = runPaths(repo, runId);
  await mkdir(paths.dir, { recursive: true });
  const at = '2026-01-01T00:00:00.000Z';
  const registry: Registry = {
    run: {
      version: 1,
      id: runId,
      repoRoot: repo,
      baseRef: 'HEAD',
      baseSha: 'base',
      promptFiles: [],
      worktreeRoot: path.join(repo, 'worktrees'),
      config: {},
      conflicts: [],
      orchestrator: { pid: 1, startTime: 'test', host: 'test' },
      sessions: [{ pid: 1, startedAt: at }],
      startedAt: at,
      heartbeatAt: at,
      status: 'succeeded',
      mode: 'parallel',
      limit: { value: 2, reason: 'cores' },
    },
    tasks: tasks.map((task) => taskRecord(task)),
  };
  await writeRegistry(paths.registry, registry);
}

describe('earlierDurations', () => {
  it('takes each task id from the newest earlier run where it succeeded, and passes over what cannot count', async () => {
    const repo = await tempDir('orch-history-');
    await earlierRun(repo, '20260101-000000-0001', [
      { id: 'a', status: 'succeeded', agentMs: 1_000 },
      { id: 'b', status: 'succeeded', agentMs: 2_000 },
      { id: 'c', status: 'succeeded', agentMs: 3_000 },
    ]);
    await earlierRun(repo, '20260102-000000-0002', [
      { id: 'a', status: 'succeeded', agentMs: 5_000 },
      // Failed, or succeeded with no time measured: the older run's figure stands.
      { id: 'b', status: 'failed', agentMs: 9_000 },
      { id: 'c', status: 'succeeded' },
    ]);
    // A corrupted registry only orders tasks: it is passed over, never fatal.
    await mkdir(runPaths(repo, '20260103-000000-0003').dir, { recursive: true });
    await writeFile(runPaths(repo, '20260103-000000-0003').registry, '{ not json');
    // Nor is one whose tasks are not what a registry holds.
    await mkdir(runPaths(repo, '20260103-120000-0006').dir, { recursive: true });
    await writeFile(
      runPaths(repo, '20260103-120000-0006').registry,
      JSON.stringify({ tasks: [{ id: 'b', status: 'succeeded', agentMs: 'fast' }, null, { id: 7, status: 'succeeded', agentMs: 1 }] }),
    );
    // The current run and runs after it do not count.
    await earlierRun(repo, '20260104-000000-0004', [{ id: 'a', status: 'succeeded', agentMs: 7_000 }]);
    await earlierRun(repo, '20260105-000000-0005', [{ id: 'a', status: 'succeeded', agentMs: 8_000 }]);

    const found = await earlierDurations(repo, ['a', 'b', 'c', 'new'], '20260104-000000-0004');
    expect(Object.fromEntries(found)).toEqual({ a: 5_000, b: 2_000, c: 3_000 });
    // Without a current run (orch plan), every run counts.
    expect((await earlierDurations(repo, ['a'])).get('a')).toBe(8_000);
    expect(await earlierDurations(await tempDir('orch-history-none-'), ['a'])).toEqual(new Map());
  });
});

describe('pendingRanks', () => {
  it('ranks pending tasks only, on durations from earlier runs, else the median of the tasks that succeeded here', () => {
    const tasks = [
      taskRecord({ id: 'done1', status: 'succeeded', agentMs: 4_000, order: 0 }),
      taskRecord({ id: 'done2', status: 'succeeded', agentMs: 6_000, order: 1 }),
      taskRecord({ id: 'running', status: 'running', order: 2 }),
      taskRecord({ id: 'p', status: 'pending', order: 3 }),
      taskRecord({ id: 'q', status: 'pending', dependsOn: ['p', 'running'], order: 4 }),
      taskRecord({ id: 'known', status: 'pending', order: 5 }),
    ];
    const { ranks, durations } = pendingRanks(tasks, new Map([['known', 30_000]]), new ConflictIndex([]));
    expect(Object.fromEntries(ranks)).toEqual({ p: 10_000, q: 5_000, known: 30_000 });
    expect(Object.fromEntries(durations.source)).toEqual({ p: 'this-run', q: 'this-run', known: 'earlier-run' });
  });
});

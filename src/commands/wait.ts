import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive } from '../process/process-info.js';
import { MERGE_STATUSES, type MergeStatus } from '../domain/vocabulary.js';
import type { Registry, TaskRecord } from '../state/registry.js';
import { loadRun } from '../state/runs.js';

/** What is still going on in a run: its orchestrator, or an `orch merge` of it. */
export type RunSession = 'run' | 'merge';

export type WaitResult =
  | { kind: 'finished'; registry: Registry }
  | { kind: 'stale'; registry: Registry; session: RunSession }
  | { kind: 'timeout'; registry: Registry; session: RunSession };

/** Where the succeeded tasks stand in the merge queue (every status, zeros included), as a merge's summary counts them. */
export function countMergeStatuses(tasks: readonly TaskRecord[]): Record<MergeStatus, number> {
  const counts = Object.fromEntries(MERGE_STATUSES.map((status) => [status, 0])) as Record<MergeStatus, number>;
  for (const task of tasks) if (task.status === 'succeeded') counts[task.merge?.status ?? 'pending'] += 1;
  return counts;
}

/**
 * The session a registry says is under way: the run while it runs, then an `orch merge` of it
 * (a `run --merge` merges inside the run's own session).
 */
export function activeSession(registry: Registry): RunSession | undefined {
  const { run } = registry;
  if (run.status === 'running') return 'run';
  if (run.merge?.orchestrator && run.merge.status === 'running') return 'merge';
  return undefined;
}

function sessionAlive(registry: Registry, session: RunSession): boolean {
  return isAlive(session === 'run' ? registry.run.orchestrator : registry.run.merge?.orchestrator);
}

/**
 * Blocks until the run has ended and no `orch merge` of it is under way (or the process doing
 * it is gone without ending it, or the timeout passes). Reads the registry only, so it can wait
 * for a run any process owns. An abort of `signal` stops the wait (with the signal's reason).
 */
export async function waitForRun(
  repoRoot: string,
  runId: string | undefined,
  timeoutMs: number | undefined,
  options: { pollMs?: number; signal?: AbortSignal } = {},
): Promise<WaitResult> {
  const pollMs = options.pollMs ?? 500;
  const deadline = timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + timeoutMs;
  let { registry } = await loadRun(repoRoot, runId);
  const id = registry.run.id;
  for (;;) {
    const session = activeSession(registry);
    if (session === undefined) return { kind: 'finished', registry };
    if (!sessionAlive(registry, session)) {
      // Look once more: it may have finished between the read and the check.
      registry = (await loadRun(repoRoot, id)).registry;
      const still = activeSession(registry);
      if (still === undefined) return { kind: 'finished', registry };
      if (!sessionAlive(registry, still)) return { kind: 'stale', registry, session: still };
      continue;
    }
    if (Date.now() >= deadline) return { kind: 'timeout', registry, session };
    await sleep(Math.min(pollMs, Math.max(0, deadline - Date.now())), undefined, { signal: options.signal });
    registry = (await loadRun(repoRoot, id)).registry;
  }
}

import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive } from '../process/process-info.js';
import type { Registry } from '../state/registry.js';
import { loadRun } from '../state/runs.js';

export type WaitResult =
  { kind: 'finished'; registry: Registry } | { kind: 'stale'; registry: Registry } | { kind: 'timeout'; registry: Registry };

/**
 * Blocks until the run has ended (or its orchestrator is gone without ending it, or the timeout
 * passes). Reads the registry only, so it can wait for a run any process owns.
 */
export async function waitForRun(
  repoRoot: string,
  runId: string | undefined,
  timeoutMs: number | undefined,
  pollMs = 500,
): Promise<WaitResult> {
  const deadline = timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + timeoutMs;
  let { registry } = await loadRun(repoRoot, runId);
  const id = registry.run.id;
  for (;;) {
    if (registry.run.status !== 'running') return { kind: 'finished', registry };
    if (!isAlive(registry.run.orchestrator)) {
      // Look once more: it may have finished between the read and the check.
      registry = (await loadRun(repoRoot, id)).registry;
      return registry.run.status === 'running' ? { kind: 'stale', registry } : { kind: 'finished', registry };
    }
    if (Date.now() >= deadline) return { kind: 'timeout', registry };
    await sleep(Math.min(pollMs, Math.max(0, deadline - Date.now())));
    registry = (await loadRun(repoRoot, id)).registry;
  }
}

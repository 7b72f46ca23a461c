import { setTimeout as sleep } from 'node:timers/promises';
import { EXIT } from '../domain/exit-codes.js';
import { UserError, errorCode } from '../errors.js';
import { isAlive, type ProcessIdentity } from '../process/process-info.js';
import type { Registry } from '../state/registry.js';
import { loadRun } from '../state/runs.js';
import { activeSession, type RunSession } from './wait.js';

export interface CancelResult {
  runId: string;
  /** What was interrupted: the run's orchestrator, or an `orch merge` of it. */
  session: RunSession;
  /** The process that was sent SIGINT. */
  pid: number;
  /** The registry once that process has stopped. */
  registry: Registry;
}

/**
 * Interrupts a run as Ctrl-C would: SIGINT to the orch process that owns it (the run's
 * orchestrator, or the `orch merge` integrating it), only after checking by pid and start time
 * that it is the process the registry recorded. Returns once that process has stopped (it
 * stops its agents within the kill grace period and records them as interrupted first).
 */
export async function cancelRun(repoRoot: string, runId: string | undefined, timeoutMs: number, pollMs = 200): Promise<CancelResult> {
  const { registry } = await loadRun(repoRoot, runId);
  const { run } = registry;
  const session = activeSession(registry);
  if (session === undefined) throw new UserError(`run ${run.id} has ended (${run.status}): there is nothing to cancel.`);
  const target: ProcessIdentity | undefined = session === 'run' ? run.orchestrator : run.merge?.orchestrator;
  if (!target || !isAlive(target)) {
    throw new UserError(
      session === 'run'
        ? `run ${run.id} has no live orchestrator (pid ${run.orchestrator.pid} is gone): there is nothing to interrupt; \`orch resume ${run.id}\` finishes it.`
        : `the merge of run ${run.id} has no live orch merge (pid ${target?.pid ?? '?'} is gone): there is nothing to interrupt; \`orch merge ${run.id}\` continues it.`,
    );
  }
  // Verified just above: this pid is the orch process the registry recorded, not a reused one.
  try {
    process.kill(target.pid, 'SIGINT');
  } catch (error) {
    // It ended between the check and the signal: it has stopped, which is what was asked.
    if (errorCode(error) !== 'ESRCH') throw error;
  }
  const deadline = Date.now() + timeoutMs;
  while (isAlive(target)) {
    if (Date.now() >= deadline) {
      throw new UserError(
        `run ${run.id} was sent SIGINT (orch pid ${target.pid}) but is still stopping after ${Math.round(timeoutMs / 1000)} s: check its status again.`,
        EXIT.failed,
      );
    }
    await sleep(pollMs);
  }
  return { runId: run.id, session, pid: target.pid, registry: (await loadRun(repoRoot, run.id)).registry };
}

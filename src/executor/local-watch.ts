import { open } from 'node:fs/promises';
import path from 'node:path';
import { LineFollower } from '../agent/follow.js';
import { classifyOutcome, type Outcome } from '../agent/outcome.js';
import { AgentProgress } from '../agent/progress.js';
import { parseStreamLine } from '../agent/stream.js';
import { errorFirstLine, errorMessage } from '../errors.js';
import { SpawnError, type AgentExit, type ProcessGroup } from '../process/process-group.js';
import { commonDirOf } from '../worktree/common-dir.js';
import { commitsSince, saveLeftovers } from '../worktree/git.js';
import { removeSandboxLeftovers } from '../worktree/sandbox-leftovers.js';
import { describeChange } from '../worktree/refs-guard.js';
import type { LocalEnvironment } from './environment.js';
import type { GuardedAttempt, GuardReport } from './guard.js';
import type { AttemptControl, AttemptResult, AttemptSpec, StopReason } from './types.js';

const WATCHDOG_INTERVAL_MS = 500;

async function readTail(file: string, bytes = 4096): Promise<string> {
  try {
    const handle = await open(file, 'r');
    try {
      const { size } = await handle.stat();
      const start = Math.max(0, size - bytes);
      const buffer = Buffer.alloc(size - start);
      await handle.read(buffer, 0, buffer.length, start);
      return buffer.toString('utf8');
    } finally {
      await handle.close();
    }
  } catch {
    return '';
  }
}

/**
 * Reads the agent's stream until it ends, stopping it when the attempt's signal says so or when
 * it runs past its time limits; then classifies the outcome and saves its work on its branch.
 */
export async function watchAgent(
  environment: LocalEnvironment,
  spec: AttemptSpec,
  control: AttemptControl,
  agent: ProcessGroup,
  copiedFiles: readonly string[],
  guard: GuardedAttempt | undefined,
  options: { saveWork: boolean } = { saveWork: true },
): Promise<AttemptResult> {
  const { config, runDir } = environment;
  const logFile = path.join(runDir, spec.attempt.log);
  const stderrFile = path.join(runDir, spec.attempt.stderr);
  const graceMs = config.timeouts.killGrace;

  const progress = new AgentProgress();
  const follower = new LineFollower(logFile, (line) => {
    const event = parseStreamLine(line);
    if (!event) return;
    const hadSession = progress.sessionId;
    const activity = progress.apply(event);
    if (event.kind === 'api-retry' && event.status !== undefined) {
      void control.update({ kind: 'api-retry', status: event.status, retryDelayMs: event.delayMs });
    }
    if (
      event.kind === 'rate-limit' &&
      !event.info.usingOverage &&
      (event.info.status === 'rejected' || event.info.status === 'allowed_warning')
    ) {
      void control.update({
        kind: 'usage-limit',
        status: event.info.status,
        resetsAt: event.info.resetsAt,
        limitType: event.info.limitType,
      });
    }
    if (progress.sessionId && progress.sessionId !== hadSession) void control.update({ kind: 'session', sessionId: progress.sessionId });
    if (activity) void control.update({ kind: 'activity', activity, turns: progress.turns });
  });
  follower.start();

  // One signal says why the agent is being stopped: the run's (user, abort) or this attempt's own limits.
  const limits = new AbortController();
  const stop = AbortSignal.any([control.signal, limits.signal]);
  const onStop = (): void => void agent.stop(graceMs);
  const onKill = (): void => agent.killNow();
  stop.addEventListener('abort', onStop);
  control.kill.addEventListener('abort', onKill);
  if (stop.aborted) onStop();
  if (control.kill.aborted) onKill();
  const startedAt = Date.now();
  const watchdog = setInterval(() => {
    const now = Date.now();
    if (now - startedAt > spec.task.timeoutMs) limits.abort('timeout' satisfies StopReason);
    else if (now - follower.lastGrowthAt > config.timeouts.inactivity) limits.abort('inactivity' satisfies StopReason);
  }, WATCHDOG_INTERVAL_MS);

  let exit: AgentExit;
  try {
    exit = await agent.exited;
  } catch (error) {
    await follower.stop();
    const code = error instanceof SpawnError ? error.code : undefined;
    return { outcome: { status: 'failed', failure: 'spawn', reason: errorMessage(error) }, spawnError: code ?? 'unknown' };
  } finally {
    clearInterval(watchdog);
    stop.removeEventListener('abort', onStop);
    control.kill.removeEventListener('abort', onKill);
  }
  await follower.stop();
  // Whatever the agent left running in its process group goes with it.
  await agent.reapGroup(graceMs);
  const result = progress.result;
  const classified = classifyOutcome({
    exitCode: exit.exitCode,
    signal: exit.signal,
    result,
    stderrTail: await readTail(stderrFile),
    stoppedBy: stop.aborted ? (stop.reason as StopReason) : undefined,
    output: config.agent.command ? config.agent.output : 'stream-json',
    rejected: progress.rejected,
    now: Date.now(),
  });
  // No agent of this attempt is left: the engine may give its slot to the next task while what
  // follows (orch's own git work) saves it.
  await control.update({ kind: 'exited', outcome: classified.status, costUsd: result?.costUsd });
  if (environment.sandbox.enabled) await removeLeftovers(environment, spec, control, exit.signal !== null || stop.aborted);

  // Before its work is saved: the worktree must be back on its branch, other refs as they were.
  // (A merge agent's worktree is the merge queue's to verify: only refs are checked.)
  const refs = await checkRefs(guard, copiedFiles, control, options.saveWork);
  const outcome = config.agent.refsGuard === 'fail' ? failOnRefs(classified, refs) : classified;
  const saved = options.saveWork ? await saveWork(spec, outcome, copiedFiles) : { outcome };
  return {
    outcome: saved.outcome,
    exit,
    turns: result?.numTurns ?? (progress.turns > 0 ? progress.turns : undefined),
    costUsd: result?.costUsd,
    sessionId: result?.sessionId ?? progress.sessionId,
    permissionDenials: result?.permissionDenials ?? [],
    commits: saved.commits,
  };
}

/**
 * A sandboxed CLI killed in the middle of a command leaves its placeholder files behind (see
 * removeSandboxLeftovers): they go before anything is committed. The repository's config lock
 * is only looked at when this agent was killed: a live sandbox of another agent may hold it.
 */
async function removeLeftovers(environment: LocalEnvironment, spec: AttemptSpec, control: AttemptControl, killed: boolean): Promise<void> {
  const removed = await removeSandboxLeftovers(spec.task.worktree, await commonDirOf(environment.repoRoot), { configLock: killed });
  if (removed.length > 0) {
    await control.update({
      kind: 'warning',
      message: `removed what Claude Code's sandbox left behind when its agent was stopped mid-command: ${removed.join(', ')}`,
    });
  }
}

/** The refs guard's check (it reports what it finds as it goes); a guard that cannot check says so instead of failing the attempt. */
async function checkRefs(
  guard: GuardedAttempt | undefined,
  copiedFiles: readonly string[],
  control: AttemptControl,
  worktree: boolean,
): Promise<GuardReport | undefined> {
  if (!guard) return undefined;
  try {
    return await guard.check(copiedFiles, { worktree });
  } catch (error) {
    const problems = [`the refs guard could not check: ${errorFirstLine(error)}`];
    await control.update({ kind: 'refs', changes: [], problems });
    return { changes: [], problems };
  }
}

/** With `agent.refsGuard: "fail"`, an attempt whose agent changed refs outside its branch fails (they were put back all the same). */
function failOnRefs(outcome: Outcome, refs: GuardReport | undefined): Outcome {
  if (!refs || refs.changes.length === 0 || outcome.status === 'interrupted') return outcome;
  return {
    status: 'failed',
    failure: 'refs',
    reason: `the agent changed refs outside its branch: ${refs.changes.map(describeChange).join('; ')}`,
  };
}

/**
 * After the agent is done: anything it left uncommitted is committed on its branch (unless the
 * user interrupted it: resume continues from the tree as it is), then the branch's own commits
 * since the base are read.
 */
async function saveWork(
  spec: AttemptSpec,
  outcome: Outcome,
  copiedFiles: readonly string[],
): Promise<{ outcome: Outcome; commits?: AttemptResult['commits'] }> {
  const { task } = spec;
  const others = spec.mergeFirst.map((dependency) => dependency.branch);
  try {
    const commits =
      outcome.status === 'interrupted'
        ? await commitsSince(task.worktree, spec.base.sha, others)
        : (
            await saveLeftovers(
              task.worktree,
              `orch: work left uncommitted by task ${task.id} (run ${spec.runId})`,
              spec.base.sha,
              others,
              copiedFiles,
            )
          ).commits;
    return { outcome, commits };
  } catch (error) {
    if (outcome.status !== 'succeeded') return { outcome };
    return { outcome: { status: 'failed', failure: 'commit', reason: `cannot commit the agent's work: ${errorFirstLine(error)}` } };
  }
}

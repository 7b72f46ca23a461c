import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sandboxOn, type MachineSandbox, type SandboxState } from '../agent/sandbox.js';
import type { OrchConfig } from '../config/schema.js';
import { UserError, errorFirstLine } from '../errors.js';
import type { LocalEnvironment } from '../executor/environment.js';
import { LocalExecutor } from '../executor/local.js';
import type { AttemptControl, AttemptResult, AttemptSpec, AttemptUpdate } from '../executor/types.js';
import type { ProcessIdentity } from '../process/process-info.js';
import { attemptFileName, branchName } from '../state/paths.js';
import { pathExists } from '../util/fs.js';
import { commitLeftovers, listWorktrees } from '../worktree/git.js';
import { poolDir, poolIfSaved } from '../worktree/pool.js';
import type { JobPayload, JobProgress } from '../workers/job.js';
import { RemoteError, firstGitLine, type RemoteClone } from './clone.js';
import type { Workdir } from './workdir.js';

/** What one job needs from the worker that runs it. */
export interface JobContext {
  workdir: Workdir;
  clone: RemoteClone;
  /** The worker's settings (its claude) merged with the run's (the job's). */
  config: OrchConfig;
  /** What this worker's machine offers Claude Code's sandbox (probed once, when the worker started). */
  machineSandbox: MachineSandbox;
  env: NodeJS.ProcessEnv;
  owner: ProcessIdentity;
  /** The worker's name, in the commit message of work saved when an attempt is interrupted. */
  workerName: string;
  includeRoot: string;
  includeCandidates: () => Promise<string[]>;
  signal: AbortSignal;
  kill: AbortSignal;
  /** Set when this worker lost the job (its lock expired): its work is kept aside, never pushed. */
  lost: () => boolean;
  progress: (update: JobProgress) => void;
  /** Worktrees being removed after their job reported, by path. */
  cleanups: Map<string, Promise<void>>;
  /** The agent started (its identity is kept in the workdir, so a worker that dies leaves no orphan behind). */
  agentStarted: (identity: ProcessIdentity) => Promise<void>;
}

export interface JobOutcome {
  result: AttemptResult;
  /** The task branch's head on the remote after the job, when the job made or reached one. */
  pushed?: string | undefined;
  /** The attempt's files, relative to the worker's run folder: copied to the coordinator. */
  files: { log: string; stderr: string; prompt: string };
}

function remoteFailure(reason: string): AttemptResult {
  return { outcome: { status: 'failed', failure: 'remote', reason } };
}

/**
 * Runs one attempt on this worker: fetches the run's refs, makes a fresh worktree on the task's
 * branch (continuing from what an earlier attempt pushed), runs the agent exactly as a local
 * run does, saves the work (an interrupted attempt's too: the worktree does not outlive the
 * job), pushes the branch back and removes the worktree. Whatever cannot be pushed stays on
 * disk, moved aside under `kept/`.
 */
export async function runJob(context: JobContext, payload: JobPayload): Promise<JobOutcome> {
  const { clone, workdir } = context;
  const { runId } = payload;
  const taskId = payload.task.id;
  const branch = branchName(runId, taskId);
  const worktree = workdir.worktree(runId, taskId);
  const files = {
    log: `logs/${attemptFileName(taskId, payload.attempt.number, 'jsonl')}`,
    stderr: `logs/${attemptFileName(taskId, payload.attempt.number, 'stderr')}`,
    prompt: `prompts/${attemptFileName(taskId, payload.attempt.number, 'md')}`,
  };
  if (context.signal.aborted) return { result: { outcome: { status: 'interrupted', reason: 'stopped before the agent started' } }, files };
  let sandbox: SandboxState;
  try {
    // The job's agent.sandbox on this machine: "auto" follows it, true needs it.
    sandbox = sandboxOn(context.config, context.machineSandbox);
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    return {
      result: { outcome: { status: 'failed', failure: 'spawn', reason: `on worker ${context.workerName}: ${error.message}` } },
      files,
    };
  }

  const continuesFrom = payload.continues;
  try {
    // Everything the attempt starts from, fetched only if this clone does not have it yet.
    const heads = [payload.base.sha, ...(continuesFrom ? [continuesFrom] : []), ...payload.mergeFirst.map((other) => other.head)];
    await clone.ensureCommits(runId, heads);
    // What an earlier job of this task here is still tidying up must be done first.
    await context.cleanups.get(worktree);
    await clone.mutex.run(() => prepareBranches(context, payload, worktree, branch, continuesFrom));
  } catch (error) {
    if (error instanceof RemoteError) return { result: remoteFailure(error.message), files };
    return { result: remoteFailure(`cannot prepare the worker's clone: ${firstGitLine(error)}`), files };
  }

  const environment: LocalEnvironment = {
    config: context.config,
    repoRoot: clone.dir,
    runDir: workdir.run(runId),
    gitMutex: clone.mutex,
    env: context.env,
    owner: context.owner,
    includeRoot: context.includeRoot,
    portsDir: workdir.ports,
    includeCandidates: context.includeCandidates,
    sandbox,
    pool: context.config.worktree.pool > 0 ? poolDir(workdir.worktrees) : undefined,
    // No refs guard here: the clone is the worker's own, its refs set from each job, and only the
    // task's branch goes back (by its commit). The sandbox and the disallowed tools still hold.
  };
  const spec: AttemptSpec = {
    runId,
    task: { ...payload.task, branch, worktree, maxBudgetUsd: payload.settings.maxBudgetUsd ?? undefined },
    attempt: { number: payload.attempt.number, kind: payload.attempt.kind, ...files },
    base: payload.base,
    mergeFirst: payload.mergeFirst.map((other) => ({ ...other, branch: branchName(runId, other.taskId) })),
    note: payload.note,
    // Claude sessions live on the machine that ran them: an attempt here starts a new one.
    resumeSessionId: undefined,
    worktree: { ready: false, copiedFiles: [], ports: [] },
  };
  let copiedFiles: string[] = [];
  const control: AttemptControl = {
    signal: context.signal,
    kill: context.kill,
    update: async (update: AttemptUpdate) => {
      if (update.kind === 'agent') {
        await context.agentStarted(update.identity);
        return;
      }
      if (update.kind === 'prepared') copiedFiles = update.copiedFiles;
      // Queue bookkeeping is the coordinator's; refs findings cannot come (no refs guard on a worker).
      // A worker's slots count its jobs until they end: that the agent exited is not the coordinator's to hear.
      if (update.kind === 'job' || update.kind === 'worker' || update.kind === 'refs' || update.kind === 'exited') return;
      context.progress(update);
    },
  };
  const result = await new LocalExecutor(environment).run(spec, control);
  return { ...(await saveAndPush(context, payload, result, worktree, branch, continuesFrom, copiedFiles)), files };
}

/**
 * Gets the clone ready for the attempt's worktree: the branches to merge in first at their
 * pushed heads, the task branch at what an earlier attempt pushed (or absent: it starts from
 * the base), and nothing of an earlier attempt of this worker in the way.
 */
async function prepareBranches(
  context: JobContext,
  payload: JobPayload,
  worktree: string,
  branch: string,
  continuesFrom: string | undefined,
): Promise<void> {
  const { clone } = context;
  const { runId } = payload;
  for (const other of payload.mergeFirst) await clone.git(['update-ref', `refs/heads/${branchName(runId, other.taskId)}`, other.head]);
  await keepAside(context, payload, worktree, branch);
  if (continuesFrom) await clone.git(['update-ref', `refs/heads/${branch}`, continuesFrom]);
}

/**
 * A worktree or branch this worker left for the same task (it died mid-job, or could not push)
 * is never deleted: the worktree moves under `kept/` (detached, its changes as they were), and
 * the branch is renamed `kept/…` unless the remote already holds all of it.
 */
async function keepAside(context: JobContext, payload: JobPayload, worktree: string, branch: string): Promise<void> {
  const { clone, workdir } = context;
  const now = new Date();
  // (A registration whose folder is gone is pruned when the worktree is made.)
  if (await pathExists(worktree)) {
    const registered = (await listWorktrees(clone.dir)).some((entry) => path.resolve(entry.path) === path.resolve(worktree));
    const kept = workdir.kept(payload.runId, payload.task.id, now);
    await mkdir(path.dirname(kept), { recursive: true });
    if (registered) {
      await clone.git(['worktree', 'move', worktree, kept]);
      // Detached at the same commit: the files stay as they are, and the branch is free.
      await clone.git(['checkout', '--quiet', '--detach'], { cwd: kept });
    } else await rename(worktree, kept);
  }
  const head = await clone.resolve(`refs/heads/${branch}`);
  if (!head) return;
  // The remote holds everything the branch has when its head is part of what the attempt continues from.
  const pushed = payload.continues;
  if (pushed !== undefined && (await isAncestor(clone, head, pushed))) await clone.git(['branch', '-D', branch]);
  else await clone.git(['branch', '-m', branch, `kept/${payload.runId}/${payload.task.id}-${now.getTime()}`]);
}

async function isAncestor(clone: RemoteClone, commit: string, of: string): Promise<boolean> {
  try {
    await clone.git(['merge-base', '--is-ancestor', commit, of]);
    return true;
  } catch {
    return false;
  }
}

/**
 * After the agent: an interrupted attempt's work is committed too (its worktree goes with the
 * job; the next attempt, wherever it runs, continues from the pushed branch), then the branch is
 * pushed and the worktree removed. A job this worker lost is kept aside, never pushed.
 */
async function saveAndPush(
  context: JobContext,
  payload: JobPayload,
  result: AttemptResult,
  worktree: string,
  branch: string,
  continuesFrom: string | undefined,
  copiedFiles: readonly string[],
): Promise<{ result: AttemptResult; pushed?: string | undefined }> {
  const { clone } = context;
  if (!(await pathExists(worktree))) return { result, pushed: continuesFrom };
  if (context.lost()) {
    await clone.mutex.run(() => keepAside(context, payload, worktree, branch));
    return { result: remoteFailure('this worker lost the job (its lock expired): the work it did is kept in its workdir') };
  }
  if (result.outcome.status === 'interrupted') {
    try {
      await commitLeftovers(
        worktree,
        `orch: work in progress on task ${payload.task.id}, interrupted on ${context.workerName} (run ${payload.runId})`,
        copiedFiles,
      );
    } catch (error) {
      return { result: remoteFailure(`cannot commit the interrupted work: ${errorFirstLine(error)} (kept in ${worktree})`) };
    }
  }
  let pushed: string;
  try {
    pushed = await clone.pushTask(payload.runId, payload.task.id, branch, continuesFrom);
  } catch (error) {
    const reason = error instanceof RemoteError ? error.message : `cannot push: ${firstGitLine(error)}`;
    // The work stays in the worktree; the next attempt on this worker moves it aside.
    return {
      result: { ...result, outcome: { status: 'failed', failure: 'remote', reason: `${reason} (the work is kept in ${worktree})` } },
    };
  }
  // Everything is on the remote now: the worktree goes after the job has reported (a next job
  // of this task here waits for it). Should the removal fail, that job moves the rest aside.
  const cleanup = clone.mutex
    .run(async () => {
      // Clean (it is, unless the agent left files orch did not commit): kept for the next jobs here.
      const pool = poolDir(context.workdir.worktrees);
      if (!(await poolIfSaved(clone.dir, pool, context.config.worktree.pool, worktree, copiedFiles))) {
        await clone.git(['worktree', 'remove', '--force', worktree]);
      }
      await clone.git(['branch', '-D', branch]);
    })
    .catch(() => undefined)
    .finally(() => {
      if (context.cleanups.get(worktree) === cleanup) context.cleanups.delete(worktree);
    });
  context.cleanups.set(worktree, cleanup);
  return { result, pushed };
}

/** The attempt's files as the worker wrote them, for the coordinator's run folder (missing ones are empty). */
export async function readAttemptFiles(
  runDir: string,
  files: JobOutcome['files'],
  maxBytes: number,
): Promise<{ log: string; stderr: string; prompt: string }> {
  const read = async (relative: string): Promise<string> => {
    try {
      const text = await readFile(path.join(runDir, relative), 'utf8');
      return text.length > maxBytes
        ? `[orch: the first ${text.length - maxBytes} characters were left on the worker]\n${text.slice(-maxBytes)}`
        : text;
    } catch {
      return '';
    }
  };
  return { log: await read(files.log), stderr: await read(files.stderr), prompt: await read(files.prompt) };
}

/** Writes an attempt's files into a run folder (the coordinator's copy of what the worker wrote). */
export async function writeAttemptFiles(
  runDir: string,
  files: JobOutcome['files'],
  content: { log: string; stderr: string; prompt: string },
): Promise<void> {
  for (const [key, relative] of Object.entries(files) as Array<[keyof typeof content, string]>) {
    const target = path.join(runDir, relative);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, content[key]);
  }
}

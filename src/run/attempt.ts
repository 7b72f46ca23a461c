import { mkdir, open, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildInvocation } from '../agent/command.js';
import { LineFollower } from '../agent/follow.js';
import { classifyOutcome, type Outcome } from '../agent/outcome.js';
import { AgentProcess, SpawnError, type AgentExit } from '../agent/process.js';
import { AgentProgress } from '../agent/progress.js';
import { formatFileList, renderPrompt, workflowManagerTemplate } from '../agent/prompt.js';
import { parseStreamLine } from '../agent/stream.js';
import type { OrchConfig } from '../config/schema.js';
import { errorFirstLine, errorMessage } from '../errors.js';
import type { RunPaths } from '../state/paths.js';
import type { AttemptRecord, ProcessIdentity, TaskRecord } from '../state/registry.js';
import type { RunStore } from '../state/store.js';
import { commitLeftovers, commitsSince, ensureWorktree, mergeBranches } from '../worktree/git.js';
import type { GitMutex } from '../worktree/mutex.js';
import { reclaimPorts, releasePorts } from '../worktree/ports.js';
import { prepareWorktree, type Prepared } from '../worktree/prepare.js';

/** Everything an attempt needs from the run it belongs to. */
export interface AttemptEnvironment {
  store: RunStore;
  config: OrchConfig;
  repoRoot: string;
  paths: RunPaths;
  gitMutex: GitMutex;
  env: NodeJS.ProcessEnv;
  /** Reports API pressure seen in a running agent's stream (an `api_retry` event). */
  onApiRetry: (status: number, retryDelayMs: number | undefined) => void;
  /** The orchestrator process: owner of port reservations. */
  owner: ProcessIdentity;
  /** The untracked files to copy into new worktrees (computed once per run). */
  includeCandidates: () => Promise<string[]>;
}

export interface AttemptRequest {
  task: TaskRecord;
  attempt: AttemptRecord;
  /** A note for the agent: why this is not a first attempt. */
  note?: string | undefined;
  /** Continue this Claude session (`--resume`). */
  resumeSessionId?: string | undefined;
  /** Follow an agent a previous orchestrator started instead of starting one. */
  adopt?: ProcessIdentity | undefined;
}

export interface AttemptResult {
  outcome: Outcome;
  /** Set when the process could not be started at all (EAGAIN, ENOMEM, ENOENT…). */
  spawnError?: string | undefined;
}

export interface AttemptHandle {
  readonly done: Promise<AttemptResult>;
  /** Stop the agent (SIGTERM to its group, SIGKILL after the grace period): the task is interrupted. */
  interrupt(): void;
  /** SIGKILL the agent's group at once (a second Ctrl-C). */
  killNow(): void;
}

const TIMER_INTERVAL_MS = 500;

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

/** One agent run for one task, from worktree to recorded commits. */
export function startAttempt(environment: AttemptEnvironment, request: AttemptRequest): AttemptHandle {
  let stoppedBy: 'user' | 'timeout' | 'inactivity' | undefined;
  let agent: AgentProcess | undefined;
  const graceMs = environment.config.timeouts.killGrace;

  const stopAgent = (reason: 'user' | 'timeout' | 'inactivity'): void => {
    stoppedBy ??= reason;
    if (agent?.running) void agent.stop(graceMs);
  };

  const done = runAttempt(environment, request, {
    isStopped: () => stoppedBy,
    setAgent: (process) => {
      agent = process;
      if (stoppedBy) void process.stop(graceMs);
    },
    stopAgent,
  });
  return {
    done,
    interrupt: () => stopAgent('user'),
    killNow: () => {
      stoppedBy ??= 'user';
      agent?.killNow();
    },
  };
}

interface AttemptControl {
  isStopped: () => 'user' | 'timeout' | 'inactivity' | undefined;
  setAgent: (agent: AgentProcess) => void;
  stopAgent: (reason: 'timeout' | 'inactivity') => void;
}

async function runAttempt(environment: AttemptEnvironment, request: AttemptRequest, control: AttemptControl): Promise<AttemptResult> {
  try {
    return await attemptBody(environment, request, control);
  } finally {
    const ports = request.task.ports;
    if (ports && ports.length > 0) await releasePorts(ports, environment.owner);
  }
}

async function attemptBody(environment: AttemptEnvironment, request: AttemptRequest, control: AttemptControl): Promise<AttemptResult> {
  const { task } = request;
  const run = environment.store.run;
  let agent: AgentProcess;
  if (request.adopt) {
    agent = AgentProcess.adopt(request.adopt);
    // Its ports were reserved by the orchestrator that died: this one holds them now.
    if (task.ports && task.ports.length > 0) await reclaimPorts(task.ports, environment.owner, run.id, task.id);
  } else {
    const started = await startAgent(environment, request, control);
    if (!(started instanceof AgentProcess)) return started;
    agent = started;
  }
  control.setAgent(agent);
  return followAgent(environment, request, control, agent);
}

/** Worktree, preparation, prompt, process: everything up to a running agent (or why there is none). */
async function startAgent(
  environment: AttemptEnvironment,
  request: AttemptRequest,
  control: AttemptControl,
): Promise<AgentProcess | AttemptResult> {
  const { store, config, paths } = environment;
  const { task, attempt } = request;
  const run = store.run;
  // A worktree is prepared (merges, copies, setup) until that has completed once: a crash in the
  // middle of it leaves a worktree that the next attempt prepares again.
  let fresh = false;
  try {
    await environment.gitMutex.run(async () => {
      const how = await ensureWorktree(environment.repoRoot, task.worktree, task.branch, run.baseSha);
      fresh = how !== 'reused' || task.worktreeReady !== true;
      if (fresh)
        await mergeBranches(task.worktree, dependencyBranches(store, task), (branch) => `orch: merge dependency ${branch} into ${task.id}`);
    });
  } catch (error) {
    return { outcome: { status: 'failed', failure: 'worktree', reason: `cannot prepare the worktree: ${errorFirstLine(error)}` } };
  }
  if (control.isStopped()) return { outcome: { status: 'interrupted', reason: 'stopped before the agent started' } };

  await mkdir(paths.logs, { recursive: true });
  const prepared = await prepareWorktree({
    repoRoot: environment.repoRoot,
    run,
    task,
    config,
    env: environment.env,
    fresh,
    owner: environment.owner,
    setupLog: path.join(paths.logs, `${task.id}.setup.log`),
    includeCandidates: environment.includeCandidates,
    onProcess: (process) => control.setAgent(process),
    isStopped: () => control.isStopped() !== undefined,
  }).catch((error: unknown): Prepared => ({
    ok: false,
    outcome: { status: 'failed', failure: 'setup', reason: `cannot prepare the worktree: ${errorMessage(error)}` },
  }));
  if (!prepared.ok) return { outcome: prepared.outcome };
  task.worktreeReady = true;
  if (control.isStopped()) return { outcome: { status: 'interrupted', reason: 'stopped before the agent started' } };

  const promptFile = path.join(paths.dir, attempt.prompt);
  const prompt = renderPrompt(workflowManagerTemplate(), {
    run_id: run.id,
    task_id: task.id,
    task_title: task.title,
    worktree: task.worktree,
    branch: task.branch,
    base_ref: run.baseRef,
    base_sha: run.baseSha,
    files: formatFileList(task.files),
    prepared: [describeDependencies(store, task), prepared.description].filter(Boolean).join('\n'),
    note: request.note ?? '',
    task_prompt: await taskText(paths, task),
  });
  await mkdir(path.dirname(promptFile), { recursive: true });
  await writeFile(promptFile, prompt);

  const invocation = buildInvocation(config.agent, {
    runId: run.id,
    taskId: task.id,
    worktree: task.worktree,
    branch: task.branch,
    promptFile,
    model: task.model,
    maxTurns: task.maxTurns,
    resumeSessionId: request.resumeSessionId,
  });
  const agent = AgentProcess.spawn({
    file: invocation.file,
    args: invocation.args,
    cwd: task.worktree,
    env: { ...environment.env, ...prepared.env },
    stdinFile: promptFile,
    stdoutFile: path.join(paths.dir, attempt.log),
    stderrFile: path.join(paths.dir, attempt.stderr),
  });
  if (agent.pid > 0) {
    task.agent = agent.identity;
    attempt.pid = agent.pid;
    // The pid must be on disk before anything else happens: it is what resume adopts or kills.
    await store.save();
  }
  return agent;
}

/** Reads the agent's stream until it ends (or is stopped), then decides and saves its work. */
async function followAgent(
  environment: AttemptEnvironment,
  request: AttemptRequest,
  control: AttemptControl,
  agent: AgentProcess,
): Promise<AttemptResult> {
  const { store, config, paths } = environment;
  const { task, attempt } = request;
  const logFile = path.join(paths.dir, attempt.log);
  const stderrFile = path.join(paths.dir, attempt.stderr);

  const progress = new AgentProgress();
  const follower = new LineFollower(logFile, (line) => {
    const event = parseStreamLine(line);
    if (!event) return;
    const hadSession = progress.sessionId;
    const activity = progress.apply(event);
    if (event.kind === 'api-retry' && event.status !== undefined) environment.onApiRetry(event.status, event.delayMs);
    if (progress.sessionId && progress.sessionId !== hadSession) {
      task.sessionId = progress.sessionId;
      void store.save().catch(() => undefined);
    }
    if (activity) {
      task.lastActivity = activity;
      task.lastActivityAt = new Date().toISOString();
      attempt.turns = progress.turns;
      sumAttempts(task);
      store.notify({ type: 'task-activity', taskId: task.id, activity, turns: task.turns ?? 0 });
    }
  });
  follower.start();

  const startedAt = Date.parse(attempt.startedAt);
  const wallLimit = task.timeoutMs ?? config.timeouts.task;
  const watchdog = setInterval(() => {
    const now = Date.now();
    if (now - startedAt > wallLimit) control.stopAgent('timeout');
    else if (now - follower.lastGrowthAt > config.timeouts.inactivity) control.stopAgent('inactivity');
  }, TIMER_INTERVAL_MS);

  let exit: AgentExit;
  try {
    exit = await agent.exited;
  } catch (error) {
    clearInterval(watchdog);
    await follower.stop();
    const code = error instanceof SpawnError ? error.code : undefined;
    return { outcome: { status: 'failed', failure: 'spawn', reason: errorMessage(error) }, spawnError: code ?? 'unknown' };
  } finally {
    clearInterval(watchdog);
  }
  await follower.stop();
  // Whatever the agent left running in its process group goes with it.
  await agent.reapGroup(config.timeouts.killGrace);

  attempt.exitCode = exit.exitCode;
  attempt.signal = exit.signal;
  task.exitCode = exit.exitCode;
  task.signal = exit.signal;
  const result = progress.result;
  if (result) {
    if (result.numTurns !== undefined) attempt.turns = result.numTurns;
    if (result.costUsd !== undefined) attempt.costUsd = result.costUsd;
    if (result.sessionId) task.sessionId = result.sessionId;
    task.permissionDenials = [...new Set([...task.permissionDenials, ...result.permissionDenials])];
    sumAttempts(task);
  }

  const outcome = classifyOutcome({
    exitCode: exit.exitCode,
    signal: exit.signal,
    result,
    stderrTail: await readTail(stderrFile),
    stoppedBy: control.isStopped(),
    output: config.agent.command ? config.agent.output : 'stream-json',
  });

  return { outcome: await saveWork(environment, task, outcome) };
}

/**
 * After the agent is done: anything it left uncommitted is committed on its branch (unless the
 * user interrupted it: resume continues from the tree as it is), then the branch's commits since
 * the base are recorded.
 */
async function saveWork(environment: AttemptEnvironment, task: TaskRecord, outcome: Outcome): Promise<Outcome> {
  try {
    if (outcome.status !== 'interrupted') {
      await commitLeftovers(
        task.worktree,
        `orch: work left uncommitted by task ${task.id} (run ${environment.store.run.id})`,
        task.copiedFiles ?? [],
      );
    }
    task.commits = await commitsSince(task.worktree, environment.store.run.baseSha, dependencyBranches(environment.store, task));
    return outcome;
  } catch (error) {
    if (outcome.status !== 'succeeded') return outcome;
    return { status: 'failed', failure: 'commit', reason: `cannot commit the agent's work: ${errorFirstLine(error)}` };
  }
}

/** A task's turns and cost are the sums of its attempts' (reading one result twice changes nothing). */
function sumAttempts(task: TaskRecord): void {
  const withTurns = task.attemptLog.filter((attempt) => attempt.turns !== undefined);
  const withCost = task.attemptLog.filter((attempt) => attempt.costUsd !== undefined);
  if (withTurns.length > 0) task.turns = withTurns.reduce((total, attempt) => total + attempt.turns!, 0);
  if (withCost.length > 0) task.costUsd = withCost.reduce((total, attempt) => total + attempt.costUsd!, 0);
}

function dependencyBranches(store: RunStore, task: TaskRecord): string[] {
  return task.dependsOn.map((dep) => store.task(dep).branch);
}

function describeDependencies(store: RunStore, task: TaskRecord): string {
  if (task.dependsOn.length === 0) return '';
  const list = task.dependsOn.map((dep) => `\`${dep}\` (${store.task(dep).title})`).join(', ');
  return `- This branch already contains the finished work of the tasks it depends on: ${list}.`;
}

/** The task's own text, as saved in the run folder when the run started. */
async function taskText(paths: RunPaths, task: TaskRecord): Promise<string> {
  return (await readFile(path.join(paths.tasks, `${task.id}.md`), 'utf8')).trimEnd();
}

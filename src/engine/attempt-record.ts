import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { OrchConfig } from '../config/schema.js';
import type { AttemptKind } from '../domain/vocabulary.js';
import type { AttemptResult, AttemptSpec, AttemptUpdate } from '../executor/types.js';
import { attemptFileName } from '../state/paths.js';
import type { AttemptRecord, TaskRecord } from '../state/registry.js';
import type { RunStore } from '../state/store.js';

/** A new attempt's record: its number, kind, start time and the files its output goes to. */
export function newAttempt(task: TaskRecord, kind: AttemptKind, now: number, parallel: boolean): AttemptRecord {
  const number = task.attempts + 1;
  return {
    number,
    kind,
    startedAt: new Date(now).toISOString(),
    log: `logs/${attemptFileName(task.id, number, 'jsonl')}`,
    stderr: `logs/${attemptFileName(task.id, number, 'stderr')}`,
    prompt: `prompts/${attemptFileName(task.id, number, 'md')}`,
    parallel,
  };
}

export interface AttemptRequest {
  task: TaskRecord;
  attempt: AttemptRecord;
  note?: string | undefined;
  resumeSessionId?: string | undefined;
  /** An agent a previous orchestrator started, to follow instead of starting one. */
  adopt?: AttemptSpec['adopt'];
  /** A job a previous coordinator queued, to follow instead of queueing one. */
  reattach?: AttemptSpec['reattach'];
}

/** What an executor needs to run the attempt, from the run's registry and settings. */
export async function attemptSpec(
  store: RunStore,
  config: OrchConfig,
  request: AttemptRequest,
  budgetLeftUsd?: number,
): Promise<AttemptSpec> {
  const { task, attempt } = request;
  const run = store.run;
  return {
    runId: run.id,
    task: {
      id: task.id,
      title: task.title,
      // The task's text as saved when the run started: resume must not depend on edited files.
      text: await readFile(path.join(store.paths.tasks, `${task.id}.md`), 'utf8'),
      branch: task.branch,
      worktree: task.worktree,
      files: task.files,
      timeoutMs: task.timeoutMs ?? config.timeouts.task,
      model: task.model ?? config.agent.model ?? undefined,
      maxTurns: task.maxTurns ?? config.agent.maxTurns ?? undefined,
      maxBudgetUsd: agentBudget(config.agent.maxBudgetUsd, budgetLeftUsd),
    },
    attempt: { number: attempt.number, kind: attempt.kind, log: attempt.log, stderr: attempt.stderr, prompt: attempt.prompt },
    base: task.startSha ? { ref: run.merge?.branch ?? run.baseRef, sha: task.startSha } : { ref: run.baseRef, sha: run.baseSha },
    mergeFirst: [
      ...task.dependsOn.map((id) => ({ id, relation: 'dependency' as const })),
      ...(task.builtOn ?? []).map((id) => ({ id, relation: 'conflict' as const })),
    ].map(({ id, relation }) => {
      const other = store.task(id);
      return { branch: other.branch, taskId: other.id, title: other.title, relation };
    }),
    note: request.note,
    resumeSessionId: request.resumeSessionId,
    adopt: request.adopt,
    reattach: request.reattach,
    worktree: { ready: task.worktreeReady === true, copiedFiles: task.copiedFiles ?? [], ports: task.ports ?? [] },
  };
}

/**
 * An agent's `--max-budget-usd`: the configured one, capped by what is left of the run's budget
 * (rounded down to a hundredth of a cent, never below one).
 */
export function agentBudget(configured: number | null, leftUsd: number | undefined): number | undefined {
  if (leftUsd === undefined) return configured ?? undefined;
  const left = Math.max(0.0001, Math.floor(leftUsd * 10_000) / 10_000);
  return configured === null ? left : Math.min(configured, left);
}

/** Applies what an executor saw while the attempt ran to the task's record (the caller saves it). */
export function applyUpdate(
  task: TaskRecord,
  attempt: AttemptRecord,
  update: Exclude<AttemptUpdate, { kind: 'api-retry' | 'usage-limit' | 'warning' }>,
  now: number,
): void {
  switch (update.kind) {
    case 'agent':
      task.agent = update.identity;
      attempt.pid = update.identity.pid;
      return;
    case 'ports':
      task.ports = update.ports;
      return;
    case 'prepared':
      task.copiedFiles = update.copiedFiles;
      if (update.setupMs !== undefined) task.setupMs = update.setupMs;
      if (update.setupSkipped) task.setupSkipped = true;
      if (update.fromPool) task.worktreeFromPool = true;
      if (update.ready) task.worktreeReady = true;
      return;
    case 'session':
      task.sessionId = update.sessionId;
      return;
    case 'job':
      attempt.job = { id: update.id, queue: update.queue };
      return;
    case 'worker':
      if (attempt.worker && attempt.worker.id !== update.worker.id) attempt.moves = (attempt.moves ?? 0) + 1;
      attempt.worker = { ...update.worker };
      return;
    case 'refs':
      if (update.changes.length > 0) attempt.refsRestored = [...(attempt.refsRestored ?? []), ...update.changes];
      if (update.problems.length > 0) attempt.refsProblems = [...(attempt.refsProblems ?? []), ...update.problems];
      return;
    case 'exited':
      // Counted at once (the budget is checked before the next admission); the result sets the same.
      if (update.costUsd !== undefined) {
        attempt.costUsd = update.costUsd;
        sumAttempts(task);
      }
      return;
    case 'activity':
      task.lastActivity = update.activity;
      task.lastActivityAt = new Date(now).toISOString();
      attempt.turns = update.turns;
      sumAttempts(task);
      return;
  }
}

/** Records how an attempt ended: its outcome, exit, turns, cost, session, denials and commits. */
export function recordResult(task: TaskRecord, attempt: AttemptRecord, result: AttemptResult, now: number): void {
  const { outcome } = result;
  attempt.finishedAt = new Date(now).toISOString();
  attempt.outcome = outcome.status;
  if (outcome.reason) attempt.reason = outcome.reason;
  if (result.exit) {
    attempt.exitCode = result.exit.exitCode;
    attempt.signal = result.exit.signal;
    task.exitCode = result.exit.exitCode;
    task.signal = result.exit.signal;
  }
  if (result.turns !== undefined) attempt.turns = result.turns;
  if (result.costUsd !== undefined) attempt.costUsd = result.costUsd;
  if (result.sessionId) task.sessionId = result.sessionId;
  if (result.permissionDenials && result.permissionDenials.length > 0) {
    task.permissionDenials = [...new Set([...task.permissionDenials, ...result.permissionDenials])];
  }
  if (result.commits) task.commits = result.commits;
  sumAttempts(task);
  task.agentMs = (task.agentMs ?? 0) + Math.max(0, now - Date.parse(attempt.startedAt));
}

/** A task's turns and cost are the sums of its attempts' (reading one result twice changes nothing). */
function sumAttempts(task: TaskRecord): void {
  const turns = task.attemptLog.flatMap((attempt) => (attempt.turns === undefined ? [] : [attempt.turns]));
  const costs = task.attemptLog.flatMap((attempt) => (attempt.costUsd === undefined ? [] : [attempt.costUsd]));
  if (turns.length > 0) task.turns = turns.reduce((total, value) => total + value, 0);
  if (costs.length > 0) task.costUsd = costs.reduce((total, value) => total + value, 0);
}

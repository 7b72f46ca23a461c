import chalk from 'chalk';
import type { RunListEntry, StatusView } from '../commands/status.js';
import { formatDuration } from '../util/duration.js';
import { describeChange } from '../worktree/refs-guard.js';
import { budgetOf, clock, colorStatus, formatBudget, formatCost, formatCounts, mergeColor, shortSha, table } from './format.js';
import { describeWait, shortTime } from './waiting.js';

const ago = (ms: number | undefined): string => (ms === undefined ? '—' : `${formatDuration(ms)} ago`);

export function renderStatus(view: StatusView): string {
  const { run } = view;
  const lines: string[] = [];
  const orchestrator = `orchestrator pid ${run.orchestrator.pid} (${run.orchestratorAlive ? chalk.green('alive') : chalk.red('gone')})`;
  lines.push(`run ${chalk.bold(run.id)} · ${colorStatus(run.liveness)} · ${orchestrator} · heartbeat ${ago(run.heartbeatAgeMs)}`);
  const mode = run.mode === 'sequential' ? ` · ${chalk.yellow(`one at a time: ${run.modeReason ?? ''}`)}` : '';
  lines.push(
    `base ${run.baseRef} (${shortSha(run.baseSha)}) · started ${clock(run.startedAt)} · limit ${run.limit.value} (${run.limit.reason})${mode}`,
  );
  lines.push(formatCounts(run.counts));
  if (run.workers) lines.push(`on workers at ${run.workers.url} · code through ${run.workers.remote}`);
  // Yellow when agents here run unconfined; a workers run's agents are each worker's to confine.
  if (run.sandbox) lines.push(run.sandbox.enabled || run.workers ? run.sandbox.summary : chalk.yellow(run.sandbox.summary));
  const limits = accountLimits(view);
  if (limits) lines.push(chalk.yellow(limits));
  if (run.reason) lines.push(run.status === 'paused' ? chalk.yellow(run.reason) : chalk.red(run.reason));
  if (run.liveness === 'stale') lines.push(chalk.yellow(`the orchestrator is gone: \`orch resume ${run.id}\` finishes the run`));
  if (run.merge) {
    const merged = view.tasks.filter((task) => task.merge?.status === 'merged').length;
    lines.push(
      `merge queue: ${run.merge.branch} · ${run.merge.status} · ${merged} of ${view.tasks.filter((task) => task.status === 'succeeded').length} succeeded tasks integrated`,
    );
  }
  lines.push('');
  const rows = view.tasks.map((task) => [
    task.id,
    colorStatus(
      task.liveness === 'dead' || task.liveness === 'orphaned' ? task.liveness : task.status,
      task.liveness && task.liveness !== 'alive' ? `${task.status} (${task.liveness})` : task.status,
    ),
    task.elapsedMs === undefined ? '—' : formatDuration(task.elapsedMs),
    run.workers ? workerOf(task) : task.status === 'running' && task.agent ? String(task.agent.pid) : '—',
    task.status === 'running' ? ago(task.heartbeatAgeMs) : '—',
    task.branch,
    task.turns === undefined ? '—' : String(task.turns),
    formatCost(task.costUsd),
    task.status === 'running'
      ? (task.lastActivity ?? '')
      : task.status === 'pending' && task.waiting
        ? describeWait(task.waiting)
        : (task.reason ?? task.merge?.reason ?? ''),
  ]);
  const header = ['task', 'status', 'elapsed', run.workers ? 'worker' : 'pid', 'heartbeat', 'branch', 'turns', 'cost', 'activity / reason'];
  if (run.merge) {
    // The merge column comes before the reason: what became of each task's work.
    header.splice(8, 0, 'merge');
    view.tasks.forEach((task, index) =>
      rows[index]!.splice(8, 0, task.merge ? colorStatus(mergeColor(task.merge.status), task.merge.status) : '—'),
    );
  }
  lines.push(table(header, rows));
  for (const task of view.tasks) {
    for (const attempt of task.attemptLog) {
      const found = [...(attempt.refsRestored ?? []).map(describeChange), ...(attempt.refsProblems ?? [])];
      if (found.length > 0)
        lines.push(chalk.yellow(`! ${task.id} (attempt ${attempt.number}): refs put back by the guard: ${found.join('; ')}`));
    }
  }
  return lines.join('\n');
}

/** Usage limits and the budget, when they hold the run back (or while a run has a budget). */
function accountLimits(view: StatusView): string | undefined {
  const { run } = view;
  const parts: string[] = [];
  const now = Date.now();
  const usage = run.usageLimit;
  const live = run.status === 'running' || run.status === 'paused';
  if (live && usage?.pausedUntil && Date.parse(usage.pausedUntil) > now)
    parts.push(`usage limit${usage.limitType ? ` (${usage.limitType})` : ''}: resumes at ${shortTime(usage.pausedUntil, now)}`);
  if (live && usage?.cap !== undefined && usage.capUntil && Date.parse(usage.capUntil) > now)
    parts.push(`usage limit close: at most ${usage.cap} agent${usage.cap === 1 ? '' : 's'} until ${shortTime(usage.capUntil, now)}`);
  const max = budgetOf(view);
  if (max !== undefined) {
    const spent = view.tasks.reduce((total, task) => total + (task.costUsd ?? 0), 0);
    parts.push(`budget ${formatCost(spent)} of ${formatBudget(max)}`);
  }
  return parts.length > 0 ? parts.join(' · ') : undefined;
}

/** Where a task of a run on workers ran (or runs): its latest attempt's worker and host. */
function workerOf(task: StatusView['tasks'][number]): string {
  const worker = task.attemptLog.at(-1)?.worker;
  return worker ? `${worker.name} (${worker.host})` : '—';
}

export function renderRunList(runs: readonly RunListEntry[], unreadable: ReadonlyArray<{ id: string; error: string }>): string {
  if (runs.length === 0 && unreadable.length === 0) return 'no orch runs in this repository yet';
  const rows = runs.map((run) => [run.id, colorStatus(run.liveness), clock(run.startedAt), formatCounts(run.counts)]);
  const lines = [table(['run', 'status', 'started', 'tasks'], rows)];
  for (const entry of unreadable) lines.push(chalk.red(`${entry.id}: ${entry.error}`));
  return lines.join('\n');
}

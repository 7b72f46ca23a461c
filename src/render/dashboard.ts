import chalk from 'chalk';
import cliTruncate from 'cli-truncate';
import { taskAgentMs } from '../engine/attempt-time.js';
import { estimateRemainingMs, runElapsedMs } from '../engine/estimate.js';
import { countStatuses } from '../engine/summary.js';
import type { Registry, TaskRecord } from '../state/registry.js';
import { formatDuration } from '../util/duration.js';
import { STATUS_SYMBOL, budgetOf, colorStatus, formatBudget, formatCost } from './format.js';
import { describeWait, shortTime } from './waiting.js';

export interface DashboardOptions {
  now: number;
  /** Terminal width: no line is longer. */
  columns: number;
  /** Terminal height: the frame never has more lines (0 or less: no limit). */
  rows: number;
  /** Said above the tasks when the run itself is not live (`orch status --watch` of a stale run). */
  note?: string | undefined;
}

/** Running and failed tasks first (what needs eyes), then waiting ones, then the finished, each in run order. */
const RANK: Record<TaskRecord['status'], number> = { running: 0, failed: 1, pending: 2, interrupted: 3, skipped: 4, succeeded: 5 };

function progressBar(done: number, total: number, width: number): string {
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return chalk.green('█'.repeat(filled)) + chalk.dim('░'.repeat(Math.max(0, width - filled)));
}

/** Segments joined with " · ", as many per line as fit. */
function pack(segments: readonly string[], width: number): string[] {
  const lines: string[] = [];
  let current = '';
  for (const segment of segments) {
    const candidate = current ? `${current} · ${segment}` : segment;
    if (current && cliTruncate(candidate, width + 1) !== candidate) {
      lines.push(current);
      current = segment;
    } else current = candidate;
  }
  if (current) lines.push(current);
  return lines;
}

/** Where a succeeded task stands in the merge queue (`orch merge`, `run --merge`), once it has a place there. */
function mergeStatus(task: TaskRecord): string | undefined {
  const merge = task.merge;
  if (!merge) return undefined;
  const color = merge.status === 'merged' ? chalk.green : merge.status === 'pending' ? chalk.dim : chalk.yellow;
  return color(merge.status === 'merged' ? 'merged' : merge.status === 'pending' ? 'to merge' : merge.status);
}

/** One line for a task: what it does now, why it waits, or how it ended. */
export function taskLine(task: TaskRecord, sessions: Registry['run']['sessions'], idWidth: number, now: number): string {
  const symbol = colorStatus(task.status, STATUS_SYMBOL[task.status]);
  const name = chalk.bold(cliTruncate(task.id, idWidth).padEnd(idWidth));
  const parts: string[] = [];
  switch (task.status) {
    case 'running': {
      const attempt = task.attemptLog.at(-1);
      parts.push(formatDuration(attempt ? now - Date.parse(attempt.startedAt) : 0));
      if (task.attempts > 1) parts.push(`attempt ${task.attempts}`);
      parts.push(`${task.turns ?? 0} turns`, formatCost(task.costUsd), chalk.dim(task.lastActivity ?? 'starting'));
      break;
    }
    case 'pending':
      parts.push(chalk.dim(task.waiting ? describeWait(task.waiting, now) : (task.reason ?? 'waiting')));
      break;
    case 'succeeded': {
      parts.push(
        formatDuration(taskAgentMs(task, sessions, now)),
        `${task.commits.length} commit${task.commits.length === 1 ? '' : 's'}`,
        formatCost(task.costUsd),
      );
      const merge = mergeStatus(task);
      if (merge) parts.push(merge);
      if (task.succeededInFallback) parts.push(chalk.yellow('in the fallback'));
      break;
    }
    case 'failed':
    case 'skipped':
    case 'interrupted':
      parts.push(colorStatus(task.status, `${task.status}${task.reason ? `: ${task.reason}` : ''}`));
  }
  return `${symbol} ${name}  ${parts.join('  ')}`;
}

/**
 * The live view of a run, from its registry alone (so `orch run` and `orch status --watch` show
 * the same): progress, failures, the concurrency limit and its reason, cost (against the budget),
 * elapsed time and an estimate of the time left; then every task on one line, running and failed
 * ones first. Every line fits `columns`; the frame fits `rows`, the rest counted on its last line.
 */
export function renderDashboard(registry: Registry, options: DashboardOptions): string {
  const { run, tasks } = registry;
  const { now } = options;
  const width = Math.max(20, options.columns - 1);
  const counts = countStatuses(tasks);
  const finished = counts.succeeded + counts.failed + counts.skipped;
  const cost = tasks.reduce((total, task) => total + (task.costUsd ?? 0), 0);
  const eta = estimateRemainingMs(registry, now);

  const lines: string[] = [];
  const head = `${chalk.bold(`run ${run.id}`)} ${colorStatus(run.status === 'running' ? 'running' : run.status, run.status)}`;
  const count = `${finished}/${tasks.length} done`;
  const percent = `${tasks.length === 0 ? 100 : Math.floor((finished / tasks.length) * 100)}%`;
  const barWidth = Math.max(5, Math.min(40, width - count.length - percent.length - 2));
  lines.push(head, `${count} ${progressBar(finished, tasks.length, barWidth)} ${percent}`);

  const facts: string[] = [];
  if (counts.failed > 0) facts.push(chalk.red(`${counts.failed} failed`));
  if (counts.skipped > 0) facts.push(chalk.yellow(`${counts.skipped} skipped`));
  facts.push(`${counts.running} running`);
  // The limit is known once the scheduler has looked at the machine.
  if (run.limit.value > 0) facts.push(`limit ${run.limit.value} (${run.limit.reason})`);
  const budget = budgetOf(registry);
  facts.push(budget !== undefined ? `${formatCost(cost)} of ${formatBudget(budget)}` : `cost ${formatCost(cost)}`);
  facts.push(`${formatDuration(runElapsedMs(registry, now))} elapsed`);
  if (eta !== undefined) facts.push(`~${formatDuration(eta)} left`);
  lines.push(...pack(facts, width));

  const notes: string[] = [];
  if (options.note) notes.push(chalk.yellow(options.note));
  const usage = run.usageLimit;
  if (usage?.pausedUntil && Date.parse(usage.pausedUntil) > now && !run.halted)
    notes.push(
      chalk.yellow(`usage limit${usage.limitType ? ` (${usage.limitType})` : ''}: resumes at ${shortTime(usage.pausedUntil, now)}`),
    );
  if (usage?.cap !== undefined && usage.capUntil && Date.parse(usage.capUntil) > now)
    notes.push(
      chalk.yellow(`usage limit close: at most ${usage.cap} agent${usage.cap === 1 ? '' : 's'} until ${shortTime(usage.capUntil, now)}`),
    );
  if (run.apiPausedUntil && Date.parse(run.apiPausedUntil) > now)
    notes.push(chalk.yellow(`API pause until ${shortTime(run.apiPausedUntil, now)}`));
  if (run.halted) notes.push(chalk.yellow(run.halted.message));
  if (run.mode === 'sequential') notes.push(chalk.yellow(`one task at a time: ${run.modeReason ?? ''}`));
  if (run.merge?.status === 'running') notes.push(`merge queue: integrating into ${chalk.bold(run.merge.branch)}`);
  lines.push(...notes);
  lines.push('');

  const ordered = [...tasks].sort((a, b) => RANK[a.status] - RANK[b.status] || a.order - b.order);
  // Task ids take at most a third of the width: what they wait for matters as much.
  const idWidth = Math.min(40, Math.floor(width / 3), Math.max(4, ...tasks.map((task) => task.id.length)));
  const room = options.rows > 0 ? options.rows - 1 - lines.length : Number.POSITIVE_INFINITY;
  const shown = ordered.length <= room ? ordered : ordered.slice(0, Math.max(0, room - 1));
  for (const task of shown) lines.push(taskLine(task, run.sessions, idWidth, now));
  const rest = ordered.slice(shown.length);
  if (rest.length > 0) {
    const restCounts = Object.entries(countStatuses(rest))
      .filter(([, n]) => n > 0)
      .map(([status, n]) => `${n} ${status}`);
    lines.push(chalk.dim(`… ${rest.length} more: ${restCounts.join(', ')}`));
  }
  const frame = options.rows > 0 ? lines.slice(0, Math.max(1, options.rows - 1)) : lines;
  return frame.map((line) => cliTruncate(line, width)).join('\n');
}

import chalk from 'chalk';
import type { RunSummary } from '../events.js';
import { formatDuration } from '../util/duration.js';
import { colorStatus, formatCost, formatCounts, table } from './format.js';

/** The end-of-run table: every task, then the measured totals. */
export function renderSummary(summary: RunSummary): string {
  const rows = summary.tasks.map((task) => [
    task.id,
    colorStatus(task.status, task.status + (task.succeededInFallback ? ' (fallback)' : '')),
    formatDuration(task.durationMs),
    task.branch,
    String(task.commits),
    task.turns === undefined ? '—' : String(task.turns),
    formatCost(task.costUsd),
  ]);
  const lines = [table(['task', 'status', 'duration', 'branch', 'commits', 'turns', 'cost'], rows)];
  const reasons = summary.tasks.filter((task) => task.reason && task.status !== 'succeeded');
  if (reasons.length > 0) {
    lines.push('');
    for (const task of reasons) lines.push(`  ${colorStatus(task.status, task.id)}: ${task.reason}`);
  }
  for (const task of summary.tasks.filter((task) => task.refsRestored.length > 0)) {
    lines.push(chalk.yellow(`  ${task.id}: refs put back by the guard: ${task.refsRestored.join('; ')}`));
  }
  const fallback = summary.tasks.filter((task) => task.succeededInFallback).map((task) => task.id);
  if (fallback.length > 0) lines.push(chalk.yellow(`  only succeeded in the sequential fallback: ${fallback.join(', ')}`));
  lines.push('');
  lines.push(formatCounts(summary.counts));
  lines.push(
    `wall time ${formatDuration(summary.wallMs)} · task time ${formatDuration(summary.taskTimeMs)} · ${summary.averageConcurrency.toFixed(2)} agents at once on average (task time ÷ wall time) · cost ${formatCost(summary.costUsd)}`,
  );
  return lines.join('\n');
}

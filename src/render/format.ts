import { stripVTControlCharacters } from 'node:util';
import chalk from 'chalk';
import type { TaskStatus } from '../domain/vocabulary.js';
import type { Registry } from '../state/registry.js';

export const STATUS_SYMBOL: Record<TaskStatus, string> = {
  pending: '·',
  running: '▶',
  succeeded: '✓',
  failed: '✗',
  skipped: '↷',
  interrupted: '■',
};

/** `5 succeeded, 1 failed`: the statuses that have tasks, colored. */
export function formatCounts(countsByStatus: Readonly<Record<string, number>>): string {
  return Object.entries(countsByStatus)
    .filter(([, count]) => count > 0)
    .map(([status, count]) => colorStatus(status, `${count} ${status}`))
    .join(', ');
}

export function colorStatus(status: string, text: string = status): string {
  switch (status) {
    case 'succeeded':
      return chalk.green(text);
    case 'failed':
    case 'dead':
    case 'aborted':
      return chalk.red(text);
    case 'skipped':
    case 'interrupted':
    case 'paused':
    case 'stale':
    case 'orphaned':
      return chalk.yellow(text);
    case 'running':
      return chalk.cyan(text);
    default:
      return chalk.dim(text);
  }
}

/** The colour of a merge status, as the task status it is most like. */
export function mergeColor(status: string): string {
  return status === 'merged' ? 'succeeded' : status === 'held' ? 'skipped' : status === 'pending' ? 'pending' : 'failed';
}

export function clock(iso: string): string {
  return new Date(iso).toTimeString().slice(0, 8);
}

export function shortSha(sha: string): string {
  return sha.slice(0, 9);
}

export function formatCost(usd: number | undefined): string {
  return usd === undefined ? '—' : `$${usd.toFixed(usd < 1 ? 4 : 2)}`;
}

/** A budget as people set it: "$5.00", "$0.50". */
export function formatBudget(usd: number): string {
  return `$${usd.toFixed(2)}`;
}

/** Lays out rows as aligned columns (widths measured without colour codes). */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((cell, column) =>
    Math.max(cell.length, ...rows.map((row) => stripVTControlCharacters(row[column] ?? '').length)),
  );
  const line = (cells: string[]): string =>
    cells
      .map((cell, column) => cell + ' '.repeat(Math.max(0, widths[column]! - stripVTControlCharacters(cell).length)))
      .join('  ')
      .trimEnd();
  return [chalk.bold(line(header)), ...rows.map(line)].join('\n');
}

/** The run's budget, as it was set (config, environment or `--max-cost`). */
export function budgetOf(registry: Pick<Registry, 'run'>): number | undefined {
  const max = (registry.run.config.budget as { maxCostUsd?: unknown } | undefined)?.maxCostUsd;
  return typeof max === 'number' ? max : undefined;
}

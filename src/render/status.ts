import chalk from 'chalk';
import type { RunListEntry, StatusView } from '../commands/status.js';
import { formatDuration } from '../util/duration.js';
import { describeChange } from '../worktree/refs-guard.js';
import { clock, colorStatus, formatCost, formatCounts, mergeColor, shortSha, table } from './format.js';

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
  if (run.sandbox) lines.push(run.sandbox.enabled ? run.sandbox.summary : chalk.yellow(run.sandbox.summary));
  if (run.reason) lines.push(chalk.red(run.reason));
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
    task.status === 'running' && task.agent ? String(task.agent.pid) : '—',
    task.status === 'running' ? ago(task.heartbeatAgeMs) : '—',
    task.branch,
    task.turns === undefined ? '—' : String(task.turns),
    formatCost(task.costUsd),
    task.status === 'running' ? (task.lastActivity ?? '') : (task.reason ?? task.merge?.reason ?? ''),
  ]);
  const header = ['task', 'status', 'elapsed', 'pid', 'heartbeat', 'branch', 'turns', 'cost', 'activity / reason'];
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

export function renderRunList(runs: readonly RunListEntry[], unreadable: ReadonlyArray<{ id: string; error: string }>): string {
  if (runs.length === 0 && unreadable.length === 0) return 'no orch runs in this repository yet';
  const rows = runs.map((run) => [run.id, colorStatus(run.liveness), clock(run.startedAt), formatCounts(run.counts)]);
  const lines = [table(['run', 'status', 'started', 'tasks'], rows)];
  for (const entry of unreadable) lines.push(chalk.red(`${entry.id}: ${entry.error}`));
  return lines.join('\n');
}

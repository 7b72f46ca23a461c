import chalk from 'chalk';
import { formatDuration } from '../util/duration.js';
import { colorStatus, formatBudget, formatCost, formatCounts, shortSha, table } from './format.js';
import type { ReportModel } from './report-model.js';
import { describeWait } from './waiting.js';

/** An offset into the run: "+1m05s". */
const offset = (model: ReportModel, at: number): string => `+${formatDuration(at - model.start)}`;

/** `orch report` without --html: the same facts as the HTML report, as text. */
export function renderReportText(model: ReportModel): string {
  const { run, summary } = model;
  const lines: string[] = [];
  lines.push(chalk.bold(`run ${run.id}`) + ` · ${colorStatus(run.status)}${run.exitCode !== undefined ? ` (exit ${run.exitCode})` : ''}`);
  lines.push(
    `base ${run.baseRef} (${shortSha(run.baseSha)}) · ${new Date(model.start).toISOString()} → ${new Date(model.end).toISOString()}`,
  );
  if (run.reason) lines.push(chalk.yellow(run.reason));

  lines.push('', chalk.bold('Timeline'));
  for (const task of model.tasks) {
    lines.push(`  ${colorStatus(task.status, task.id)}`);
    const rows = [
      ...task.waits.map((wait) => ({
        at: wait.start,
        text: chalk.dim(
          `    ${offset(model, wait.start)} … ${offset(model, wait.end)}  waited ${formatDuration(wait.end - wait.start)}: ${describeWait(wait.reason, wait.start)}`,
        ),
      })),
      ...task.attempts.map((attempt) => {
        const facts = [
          attempt.turns !== undefined ? `${attempt.turns} turns` : undefined,
          attempt.costUsd !== undefined ? formatCost(attempt.costUsd) : undefined,
          attempt.worker ? `on worker ${attempt.worker}` : undefined,
        ]
          .filter(Boolean)
          .join(', ');
        return {
          at: attempt.start,
          text: `    ${offset(model, attempt.start)} … ${offset(model, attempt.end)}  attempt ${attempt.number} (${attempt.kind}) ${formatDuration(attempt.end - attempt.start)} ${colorStatus(attempt.outcome === 'requeued' ? 'skipped' : attempt.outcome, attempt.outcome)}${facts ? ` · ${facts}` : ''}${attempt.reason ? `: ${attempt.reason}` : ''}`,
        };
      }),
    ].sort((a, b) => a.at - b.at);
    if (rows.length === 0) lines.push(chalk.dim('    never started'));
    for (const row of rows) lines.push(row.text);
  }

  if (model.sessions.length > 1) {
    lines.push('', chalk.bold('Sessions'));
    model.sessions.forEach((session, index) =>
      lines.push(
        `  ${index === 0 ? 'run' : 'resume'} ${offset(model, session.start)} … ${offset(model, session.end)} (${formatDuration(session.end - session.start)})`,
      ),
    );
  }
  if (model.pauses.length > 0) {
    lines.push('', chalk.bold('Pauses'));
    for (const pause of model.pauses) lines.push(`  ${offset(model, pause.start)} … ${offset(model, pause.end)}  ${pause.label}`);
  }
  if (model.limits.length > 0) {
    lines.push('', chalk.bold('Concurrency limit'));
    lines.push(`  ${model.limits.map((limit) => `${offset(model, limit.at)} ${limit.value} (${limit.reason})`).join(' → ')}`);
  }
  if (model.marks.length > 0) {
    lines.push('', chalk.bold('Events'));
    for (const mark of model.marks) lines.push(`  ${offset(model, mark.at)}  ${mark.label}`);
  }

  lines.push('', chalk.bold('Dependencies and conflicts'));
  const edges = model.tasks.flatMap((task) => [
    ...task.dependsOn.map((dependency) => `  ${dependency} → ${task.id}`),
    ...task.builtOn
      .filter((other) => !task.dependsOn.includes(other))
      .map((other) => `  ${other} ⇢ ${task.id} (built on it: they conflict)`),
  ]);
  for (const conflict of model.conflicts) edges.push(`  ${conflict.a} ⟷ ${conflict.b} conflict on ${conflict.files.join(', ')}`);
  lines.push(...(edges.length > 0 ? edges : [chalk.dim('  none: every task stands alone')]));

  lines.push('', chalk.bold('Tasks'));
  const rows = model.tasks.map((task) => [
    task.id,
    colorStatus(task.status),
    formatDuration(task.durationMs),
    task.turns === undefined ? '—' : String(task.turns),
    formatCost(task.costUsd),
    String(task.commits),
    task.branch,
    task.merge ?? '—',
  ]);
  lines.push(table(['task', 'status', 'duration', 'turns', 'cost', 'commits', 'branch', 'merge'], rows));
  const reasons = model.tasks.filter((task) => task.reason && task.status !== 'succeeded');
  for (const task of reasons) lines.push(`  ${colorStatus(task.status, task.id)}: ${task.reason}`);

  lines.push('', chalk.bold('Totals'));
  lines.push(`  ${formatCounts(summary.counts)}`);
  const budget = run.maxCostUsd !== undefined ? ` of a ${formatBudget(run.maxCostUsd)} budget` : '';
  lines.push(
    `  wall time ${formatDuration(summary.wallMs)} · task time ${formatDuration(summary.taskTimeMs)} · ${summary.averageConcurrency.toFixed(2)} agents at once on average · cost ${formatCost(summary.costUsd)}${budget}`,
  );
  return lines.join('\n');
}

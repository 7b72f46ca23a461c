import chalk from 'chalk';
import type { MergeSummary } from '../events.js';
import type { MergePlan } from '../merge/dry-run.js';
import { formatDuration } from '../util/duration.js';
import { colorStatus, mergeColor, shortSha, table } from './format.js';

/** The end of a merge: every succeeded task's place in the queue, and where the branch stands. */
export function renderMergeSummary(summary: MergeSummary): string {
  const rows = summary.tasks.map((task) => [
    task.id,
    colorStatus(mergeColor(task.status), task.status),
    task.commit ? shortSha(task.commit) : '—',
    task.conflictFiles?.join(', ') ?? '—',
    task.checkMs === undefined ? '—' : formatDuration(task.checkMs),
  ]);
  const lines = [table(['task', 'merge', 'commit', 'files in conflict', 'check'], rows)];
  const reasons = summary.tasks.filter((task) => task.reason && task.status !== 'merged');
  if (reasons.length > 0) {
    lines.push('');
    for (const task of reasons) lines.push(`  ${colorStatus(mergeColor(task.status), task.id)}: ${task.reason}`);
  }
  lines.push('');
  const counts = Object.entries(summary.counts)
    .filter(([, count]) => count > 0)
    .map(([status, count]) => colorStatus(mergeColor(status), `${count} ${status}`))
    .join(', ');
  lines.push(`${chalk.bold(summary.branch)} at ${shortSha(summary.head)}: ${counts || 'nothing to integrate'}`);
  if (summary.into) {
    lines.push(
      summary.into.moved
        ? chalk.green(`${summary.into.branch} now at ${shortSha(summary.head)}`)
        : chalk.yellow(`${summary.into.branch} not moved: ${summary.into.reason ?? ''}`),
    );
  }
  return lines.join('\n');
}

/** `orch merge --dry-run`: what would happen, merge by merge. */
export function renderMergePlan(plan: MergePlan): string {
  const lines = [chalk.bold(`Merge plan for run ${plan.runId} into ${plan.branch} (from ${shortSha(plan.head)})`)];
  plan.steps.forEach((step, index) => {
    const prefix = `  ${String(index + 1).padStart(2)}. ${chalk.cyan(step.taskId)}`;
    switch (step.kind) {
      case 'merge':
        lines.push(`${prefix} ${chalk.green('merges cleanly')}`);
        break;
      case 'conflict':
        lines.push(
          `${prefix} ${chalk.red(`conflicts in ${step.files.join(', ')}`)}${plan.resolve ? chalk.dim(' (an agent would resolve it)') : ''}`,
        );
        break;
      case 'held':
        lines.push(`${prefix} ${chalk.yellow(`held: ${step.reason}`)}`);
        break;
      case 'integrated':
        lines.push(`${prefix} ${chalk.dim('already integrated')}`);
        break;
    }
  });
  if (plan.pairwise.length > 0) {
    lines.push('', chalk.bold('Task branches that conflict with each other'));
    for (const pair of plan.pairwise) lines.push(`  ${pair.a} ⟷ ${pair.b}: ${pair.files.join(', ')}`);
  }
  lines.push(
    '',
    chalk.dim(
      plan.check
        ? `the check \`${plan.check}\` would run after every ${plan.checkEvery === 1 ? 'merge' : `${plan.checkEvery} merges`}`
        : 'no check configured',
    ),
  );
  lines.push(chalk.dim('(dry run: nothing was written)'));
  return lines.join('\n');
}

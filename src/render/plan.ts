import chalk from 'chalk';
import type { SandboxState } from '../agent/sandbox.js';
import type { Analysis } from '../graph/analyze.js';
import { conflictOrder } from '../graph/waves.js';
import type { PlanSchedule } from '../commands/plan-schedule.js';
import { formatDuration } from '../util/duration.js';

/** The `--json` form of a plan: one object, stable field names. */
export function planToJson(analysis: Analysis, sandbox: SandboxState, schedule?: PlanSchedule): object {
  return {
    sandbox,
    ...(schedule ? { schedule } : {}),
    tasks: analysis.tasks.map((task) => ({
      id: task.id,
      title: task.title,
      file: task.file,
      dependsOn: task.dependsOn,
      files: task.files,
      mentions: task.mentions,
      priority: task.priority,
    })),
    conflicts: analysis.conflicts.map(({ a, b, files }) => ({ a, b, files, ...conflictOrder(analysis.waves, a, b) })),
    waves: analysis.waves,
    warnings: analysis.warnings,
  };
}

const list = (items: readonly string[]): string => (items.length > 0 ? items.join(', ') : chalk.dim('—'));

/** A length in the schedule's unit: a duration when measured, else a count of tasks. */
function length(schedule: PlanSchedule, value: number): string {
  if (schedule.unit === 'ms') return formatDuration(value);
  const rounded = Math.round(value * 10) / 10;
  return `${rounded} ${rounded === 1 ? 'task' : 'tasks'}`;
}

/** The critical path and the expected length of the run, as `orch plan` prints them. */
export function renderSchedule(schedule: PlanSchedule): string[] {
  const lines: string[] = [];
  lines.push(chalk.bold(`Critical path (${length(schedule, schedule.criticalPathLength)})`));
  lines.push(`  ${schedule.criticalPath.join(' → ') || chalk.dim('—')}`);
  const slots = `${schedule.slots} at once (${schedule.slotsFrom === 'max-parallel' ? 'maxParallel' : 'cores'})`;
  lines.push(
    `  expected length of the run: ${length(schedule, schedule.expectedLength)} with ${slots}; no schedule is shorter than ${length(schedule, schedule.lowerBound)}`,
  );
  const earlier = Object.values(schedule.durations).filter((duration) => duration.source === 'earlier-run').length;
  const total = Object.keys(schedule.durations).length;
  lines.push(
    chalk.dim(
      schedule.unit === 'ms'
        ? `  durations: ${earlier} of ${total} tasks as they took in earlier runs of this repository, the others their median`
        : '  durations: no earlier run of these tasks in this repository, so each counts as one task',
    ),
  );
  return lines;
}

export function renderPlan(analysis: Analysis, sandbox: SandboxState, schedule?: PlanSchedule): string {
  const lines: string[] = [];
  lines.push(chalk.bold(`Tasks (${analysis.tasks.length})`));
  for (const task of analysis.tasks) {
    const priority = task.priority !== 0 ? chalk.dim(`  priority ${task.priority}`) : '';
    lines.push(`  ${chalk.cyan(task.id)}  ${task.title}  ${chalk.dim(task.file)}${priority}`);
    lines.push(`    depends on: ${list(task.dependsOn)}`);
    lines.push(`    files:      ${list(task.files)}`);
    if (task.mentions.length > 0) lines.push(`    mentions:   ${chalk.dim(task.mentions.join(', '))}`);
  }
  lines.push('');
  lines.push(chalk.bold(`Conflicts (${analysis.conflicts.length})`));
  if (analysis.conflicts.length === 0) lines.push(chalk.dim('  none: no two tasks touch the same files'));
  for (const conflict of analysis.conflicts) {
    const { first, then } = conflictOrder(analysis.waves, conflict.a, conflict.b);
    lines.push(
      `  ${chalk.cyan(conflict.a)} ⟷ ${chalk.cyan(conflict.b)}: ${conflict.files.join(', ')} ${chalk.dim(`· ${then} runs after ${first} and builds on its work`)}`,
    );
  }
  lines.push('');
  lines.push(chalk.bold(`Waves (${analysis.waves.length})`));
  analysis.waves.forEach((wave, index) => lines.push(`  ${index + 1}: ${wave.join(', ')}`));
  if (schedule) lines.push('', ...renderSchedule(schedule));
  lines.push('');
  lines.push(sandbox.enabled ? sandbox.summary : chalk.yellow(sandbox.summary));
  if (analysis.warnings.length > 0) {
    lines.push('');
    lines.push(chalk.bold.yellow(`Warnings (${analysis.warnings.length})`));
    for (const warning of analysis.warnings) lines.push(`  ${chalk.yellow('!')} ${warning}`);
  }
  return lines.join('\n');
}

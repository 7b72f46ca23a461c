import chalk from 'chalk';
import type { InitResult } from '../commands/init.js';

function describe({ target, action, entry }: InitResult): string {
  if (!entry) {
    return action === 'kept'
      ? `${chalk.yellow('kept')} ${target} (already there; --force overwrites it)`
      : `${chalk.green(action)} ${target}`;
  }
  switch (action) {
    case 'wrote':
      return `${chalk.green('wrote')} ${target} (${entry})`;
    case 'added':
      return `${chalk.green('added')} ${entry} to ${target}`;
    case 'overwrote':
      return `${chalk.green('overwrote')} ${entry} in ${target}`;
    case 'kept':
      return `${chalk.yellow('kept')} ${entry} in ${target} (already there; --force overwrites it)`;
  }
}

/** What `orch init` wrote and what it left alone. */
export function renderInit(results: readonly InitResult[]): string {
  const lines = results.map(describe);
  lines.push(chalk.dim('In Claude Code: /orchestrate prompts/*.md — or describe the tasks in plain words.'));
  return lines.join('\n');
}

import chalk from 'chalk';
import type { InitResult } from '../commands/init.js';

/** What `orch init` wrote and what it left alone. */
export function renderInit(results: readonly InitResult[]): string {
  const lines = results.map(({ target, action }) =>
    action === 'kept' ? `${chalk.yellow('kept')} ${target} (already there; --force overwrites it)` : `${chalk.green(action)} ${target}`,
  );
  lines.push(chalk.dim('In Claude Code: /orchestrate prompts/*.md — or describe the tasks in plain words.'));
  return lines.join('\n');
}

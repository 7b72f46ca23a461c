import chalk from 'chalk';
import type { CleanAction } from '../commands/clean.js';

/** What `orch clean` did (or, with --dry-run, would do), run by run. */
export function renderCleanActions(actions: readonly CleanAction[], dryRun: boolean): string {
  if (actions.length === 0) return 'nothing to clean';
  const lines: string[] = [];
  let heading = '';
  for (const action of actions) {
    const about = action.run ? `run ${action.run}` : action.kind === 'lock' ? 'git lock' : 'warm pool';
    if (about !== heading) {
      heading = about;
      lines.push(chalk.bold(heading));
    }
    const label =
      action.result === 'kept' || action.result === 'skipped'
        ? chalk.yellow(action.result)
        : chalk.green(dryRun ? `would be ${action.result}` : action.result);
    const reason = action.reason ? `: ${action.reason}` : '';
    lines.push(`  ${action.kind} ${action.target} ${label}${reason}`);
  }
  if (dryRun) lines.push(chalk.dim('(dry run: nothing was changed)'));
  return lines.join('\n');
}

import chalk from 'chalk';
import type { Command } from 'commander';
import type { CleanAction } from '../../commands/clean.js';
import { requireRepoRoot } from '../../worktree/repo.js';
import type { CommandContext } from '../context.js';

interface CleanFlags {
  run?: string;
  all?: boolean;
  purge?: boolean;
  branches?: boolean;
  force?: boolean;
  dryRun?: boolean;
  killOrphans?: boolean;
  target?: string;
  json?: boolean;
}

function renderActions(actions: readonly CleanAction[], dryRun: boolean): string {
  if (actions.length === 0) return 'nothing to clean';
  const lines: string[] = [];
  let run = '';
  for (const action of actions) {
    if (action.run !== run) {
      run = action.run;
      lines.push(chalk.bold(`run ${run}`));
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

export function registerClean(program: Command, context: CommandContext): void {
  program
    .command('clean')
    .description('remove worktrees (and with --branches, branches) whose work is safe elsewhere')
    .option('--run <id>', 'clean only this run')
    .option('--all', 'also clean unfinished runs whose orchestrator is gone')
    .option('--purge', 'also delete the run folders under .gadugi/runs')
    .option('--branches', 'also delete task branches whose commits are merged or on another branch')
    .option('--target <branch>', 'the branch merges are checked against (default: the branch each run started from)')
    .option('--force', 'remove worktrees with unsaved work and branches with unmerged commits too')
    .option('--kill-orphans', 'stop agents still running under a dead orchestrator (only recorded, verified pids)')
    .option('--dry-run', 'print what would be done, change nothing')
    .option('--json', 'print the actions as JSON')
    .action(async (flags: CleanFlags) => {
      const { clean } = await import('../../commands/clean.js');
      const repoRoot = await requireRepoRoot(context.cwd);
      const dryRun = flags.dryRun === true;
      const actions = await clean(repoRoot, context.env, {
        runId: flags.run,
        all: flags.all === true,
        purge: flags.purge === true,
        branches: flags.branches === true,
        force: flags.force === true,
        dryRun,
        killOrphans: flags.killOrphans === true,
        target: flags.target,
      });
      context.out(flags.json ? JSON.stringify({ dryRun, actions }, null, 2) : renderActions(actions, dryRun));
      context.setExitCode(0);
    });
}

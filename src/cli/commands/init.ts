import chalk from 'chalk';
import type { Command } from 'commander';
import { requireRepoRoot } from '../../worktree/repo.js';
import type { CommandContext } from '../context.js';

export function registerInit(program: Command, context: CommandContext): void {
  program
    .command('init')
    .description('add the /orchestrate slash command, the workflow-manager agent and a documented config to this repository')
    .option('--force', 'overwrite files that already exist')
    .action(async (options: { force?: boolean }) => {
      const { initRepository } = await import('../../commands/init.js');
      const repoRoot = await requireRepoRoot(context.cwd);
      const results = await initRepository(repoRoot, options.force === true);
      for (const { target, action } of results) {
        context.out(
          action === 'kept'
            ? `${chalk.yellow('kept')} ${target} (already there; --force overwrites it)`
            : `${chalk.green(action)} ${target}`,
        );
      }
      context.out(chalk.dim('In Claude Code: /orchestrate prompts/*.md — or describe the tasks in plain words.'));
      context.setExitCode(0);
    });
}

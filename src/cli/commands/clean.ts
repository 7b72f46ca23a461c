import type { Command } from 'commander';
import { requireRepoRoot } from '../../worktree/repo.js';
import type { CommandContext } from '../context.js';
import { EXIT } from '../../domain/exit-codes.js';

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
      const [{ clean }, { renderCleanActions }] = await Promise.all([import('../../commands/clean.js'), import('../../render/clean.js')]);
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
      context.out(flags.json ? JSON.stringify({ dryRun, actions }, null, 2) : renderCleanActions(actions, dryRun));
      context.setExitCode(EXIT.ok);
    });
}

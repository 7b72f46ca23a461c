import type { Command } from 'commander';
import { requireRepoRoot } from '../../worktree/repo.js';
import type { CommandContext } from '../context.js';
import { EXIT } from '../../domain/exit-codes.js';
import { UserError } from '../../errors.js';

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
  pool?: string | boolean;
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
    .option('--pool <n>', 'keep at most n clean worktrees in the warm pool (default: worktree.pool; 0 empties it)')
    .option('--no-pool', 'empty the warm pool and put nothing in it (same as --pool 0)')
    .option('--dry-run', 'print what would be done, change nothing')
    .option('--json', 'print the actions as JSON')
    .action(async (flags: CleanFlags) => {
      const pool = poolSize(flags.pool);
      // git looks for the repository while the command's modules load.
      const repoRootFound = requireRepoRoot(context.cwd);
      repoRootFound.catch(() => undefined);
      const [{ clean }, { renderCleanActions }] = await Promise.all([import('../../commands/clean.js'), import('../../render/clean.js')]);
      const repoRoot = await repoRootFound;
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
        pool,
      });
      context.out(flags.json ? JSON.stringify({ dryRun, actions }, null, 2) : renderCleanActions(actions, dryRun));
      context.setExitCode(EXIT.ok);
    });
}

/** `--pool <n>` / `--no-pool` (false): the pool's size for this clean; undefined: the config's. */
function poolSize(flag: string | boolean | undefined): number | undefined {
  if (flag === undefined || flag === true) return undefined;
  if (flag === false) return 0;
  if (!/^\d+$/.test(flag)) throw new UserError(`--pool must be a whole number of worktrees (0 empties the pool), got "${flag}"`);
  return Number(flag);
}

import type { Command } from 'commander';
import { EXIT } from '../../domain/exit-codes.js';
import { UserError } from '../../errors.js';
import type { FlagOverride } from '../../config/load.js';
import type { CommandContext } from '../context.js';
import { driveRun } from '../drive-run.js';

/** The merge options `merge` and `run --merge` share. */
export interface MergeFlagOptions {
  check?: string;
  checkEvery?: string;
  squash?: boolean;
  resolve?: boolean;
  into?: string;
}

interface MergeFlags extends MergeFlagOptions {
  dryRun?: boolean;
  json?: boolean;
}

/** The merge options `merge` and `run --merge` share, as config overrides. */
export function mergeOverrides(flags: MergeFlagOptions): FlagOverride[] {
  let checkEvery: number | undefined;
  if (flags.checkEvery !== undefined) {
    checkEvery = Number(flags.checkEvery);
    if (!/^\d+$/.test(flags.checkEvery) || checkEvery < 1)
      throw new UserError(`--check-every "${flags.checkEvery}" is not a number of merges (1 or more).`);
  }
  const overrides: FlagOverride[] = [
    { key: 'merge.check', value: flags.check, flag: '--check' },
    { key: 'merge.checkEvery', value: checkEvery, flag: '--check-every' },
    { key: 'merge.squash', value: flags.squash ? true : undefined, flag: '--squash' },
    { key: 'merge.resolve', value: flags.resolve ? true : undefined, flag: '--resolve' },
    { key: 'merge.into', value: flags.into, flag: '--into' },
  ];
  return overrides.filter((override) => override.value !== undefined);
}

export function addMergeOptions(command: Command): Command {
  return command
    .option('--check <command>', 'run this on the integration branch after merges (through the shell); a failure undoes the merge')
    .option('--check-every <n>', 'check after every n merges, bisecting a failure (default 1)')
    .option('--squash', 'one plain commit per task instead of a merge commit')
    .option('--resolve', 'let an agent resolve conflicts')
    .option('--into <branch>', 'at the end, fast-forward this branch to the integration branch (never forced)');
}

export function registerMerge(program: Command, context: CommandContext): void {
  addMergeOptions(
    program
      .command('merge')
      .description("integrate a run's succeeded tasks into one tested branch, orch/<run-id>/integration")
      .argument('[run-id]', 'the run (default: the latest)'),
  )
    .option('--dry-run', 'print the plan and every predicted conflict; write nothing')
    .option('--json', 'print NDJSON events (with --dry-run: the plan as one JSON object)')
    .action(async (runId: string | undefined, flags: MergeFlags) => {
      const request = { cwd: context.cwd, env: context.env, runId, flags: mergeOverrides(flags) };
      if (flags.dryRun) {
        const [{ prepareMerge }, { planMerge }, { mergeSettings }, { renderMergePlan }] = await Promise.all([
          import('../../commands/merge.js'),
          import('../../merge/dry-run.js'),
          import('../../merge/queue.js'),
          import('../../render/merge.js'),
        ]);
        const { registry, config } = await prepareMerge(request, { dryRun: true });
        const plan = await planMerge(registry, mergeSettings(config));
        context.out(flags.json ? JSON.stringify(plan, null, 2) : renderMergePlan(plan));
        context.setExitCode(EXIT.ok);
        return;
      }
      const { mergeRun } = await import('../../commands/merge.js');
      await driveRun(context, flags.json === true, (sink, onStart) => mergeRun(request, sink, onStart));
    });
}

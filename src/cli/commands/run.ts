import { Option, type Command } from 'commander';
import { UserError } from '../../errors.js';
import { RUN_ID_PATTERN } from '../../state/paths.js';
import type { CommandContext } from '../context.js';
import { flagOverrides, type RunFlagOptions } from '../run-flags.js';
import { driveRun } from '../drive-run.js';
import { addMergeOptions, mergeOverrides, type MergeFlagOptions } from './merge.js';
import { EXIT } from '../../domain/exit-codes.js';

export interface RunOptions extends RunFlagOptions {
  json?: boolean;
  detach?: boolean;
}

/** The options `run` and `resume` share: how the run's agents run, and how it is shown. */
export function addRunOptions(command: Command): Command {
  return command
    .option('--max-parallel <n>', 'at most this many agents at once, or "auto" (default: auto)')
    .option('--retries <n>', 'retry a failed task this many times (default 1)')
    .option('--timeout <duration>', 'per-task time limit, e.g. 30m (default 60m)')
    .option('--model <model>', 'the model for every agent (frontmatter `model` wins)')
    .option('--max-turns <n>', 'turn limit for every agent (frontmatter `max_turns` wins)')
    .option('--permission-mode <mode>', 'claude --permission-mode (default acceptEdits)')
    .option('--no-fallback', 'no circuit breaker, no sequential re-run of tasks that failed in parallel')
    .option('--detach', 'run in the background: print the run id and return at once')
    .option('--json', 'print NDJSON events instead of text');
}

type RunCommandOptions = RunOptions & MergeFlagOptions & { runId?: string; merge?: boolean };

export function registerRun(program: Command, context: CommandContext): void {
  addMergeOptions(
    addRunOptions(
      program
        .command('run')
        .description('run every task: one agent per task, each in its own worktree and branch')
        .argument('<prompts...>', 'prompt files, globs or directories of .md files')
        .option('--base <ref>', 'branch or commit the task branches start from (default: HEAD)')
        .option('--worktree-root <dir>', 'where worktrees go (default .gadugi/worktrees)')
        .option('--merge', 'integrate each task into orch/<run-id>/integration as soon as it succeeds (see orch merge)')
        // Set by --detach for the background process it starts.
        .addOption(new Option('--run-id <id>').hideHelp()),
    ),
  ).action(async (prompts: string[], options: RunCommandOptions) => {
    if (options.runId !== undefined && !RUN_ID_PATTERN.test(options.runId)) {
      throw new UserError(`--run-id "${options.runId}" is not a run id orch made.`);
    }
    const request = {
      cwd: context.cwd,
      env: context.env,
      prompts,
      flags: [
        ...flagOverrides(options),
        ...(options.merge ? [{ key: 'merge.enabled', value: true, flag: '--merge' }] : []),
        ...mergeOverrides(options),
      ],
      detached: options.runId !== undefined,
      runId: options.runId,
    };
    if (options.detach) {
      const { startDetached } = await import('../../commands/detach.js');
      const detached = await startDetached(request, context.argv);
      context.out(options.json ? JSON.stringify(detached) : detached.runId);
      context.setExitCode(EXIT.ok);
      return;
    }
    const { startRun } = await import('../../commands/run.js');
    await driveRun(context, options.json === true, (sink, onStart) => startRun(request, sink, onStart));
  });
}

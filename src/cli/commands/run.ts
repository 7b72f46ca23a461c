import type { Command } from 'commander';
import { chooseRenderer } from '../../render/renderer.js';
import { startRun } from '../../run/start.js';
import type { CommandContext } from '../context.js';
import { flagOverrides, type RunFlagOptions } from '../run-flags.js';
import { handleStopSignals } from '../signals.js';

export interface RunOptions extends RunFlagOptions {
  json?: boolean;
}

/** The options `run` and `resume` share. */
export function addRunOptions(command: Command): Command {
  return command
    .option('--max-parallel <n>', 'at most this many agents at once, or "auto" (default: auto)')
    .option('--timeout <duration>', 'per-task time limit, e.g. 30m (default 60m)')
    .option('--model <model>', 'the model for every agent (frontmatter `model` wins)')
    .option('--max-turns <n>', 'turn limit for every agent (frontmatter `max_turns` wins)')
    .option('--permission-mode <mode>', 'claude --permission-mode (default acceptEdits)')
    .option('--worktree-root <dir>', 'where worktrees go (default .gadugi/worktrees)')
    .option('--json', 'print NDJSON events instead of text');
}

export function registerRun(program: Command, context: CommandContext): void {
  addRunOptions(
    program
      .command('run')
      .description('run every task: one agent per task, each in its own worktree and branch')
      .argument('<prompts...>', 'prompt files, globs or directories of .md files')
      .option('--base <ref>', 'branch or commit the task branches start from (default: HEAD)'),
  ).action(async (prompts: string[], options: RunOptions) => {
    const renderer = chooseRenderer(options.json === true, context.out);
    const signals = handleStopSignals(() => process.exit(130));
    try {
      const { outcome } = await startRun(
        { cwd: context.cwd, env: context.env, prompts, flags: flagOverrides(options), detached: false },
        (event) => renderer.event(event),
        (orchestrator) => signals.attach(orchestrator),
      );
      renderer.close();
      if (outcome.error) context.err(`orch: ${outcome.error.message}`);
      context.setExitCode(outcome.exitCode);
    } finally {
      renderer.close();
      signals.dispose();
    }
  });
}

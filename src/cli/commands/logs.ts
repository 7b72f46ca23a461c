import type { Command } from 'commander';
import { UserError } from '../../errors.js';
import { requireRepoRoot } from '../../worktree/repo.js';
import type { CommandContext } from '../context.js';
import { EXIT } from '../../domain/exit-codes.js';

interface LogsFlags {
  run?: string;
  attempt?: string;
  follow?: boolean;
  raw?: boolean;
}

export function registerLogs(program: Command, context: CommandContext): void {
  program
    .command('logs')
    .description("show a task's agent transcript: its words, tool calls, results and outcome")
    .argument('<task>', 'the task id')
    .option('--run <id>', 'the run (default: the latest)')
    .option('--attempt <n>', 'which attempt (default: the latest)')
    .option('-f, --follow', 'keep printing while the task runs')
    .option('--raw', 'print the stream-json lines as they are')
    .action(async (taskId: string, flags: LogsFlags) => {
      const attempt = flags.attempt === undefined ? undefined : Number(flags.attempt);
      if (attempt !== undefined && !Number.isInteger(attempt)) throw new UserError(`--attempt "${flags.attempt}" is not a number.`);
      const [{ renderLogEntry }, { streamLogs }] = await Promise.all([
        import('../../render/transcript.js'),
        import('../../commands/logs.js'),
      ]);
      const repoRoot = await requireRepoRoot(context.cwd);
      await streamLogs(repoRoot, taskId, { runId: flags.run, attempt, follow: flags.follow === true, raw: flags.raw === true }, (entry) => {
        const text = renderLogEntry(entry);
        if (text !== undefined) context.out(text);
      });
      context.setExitCode(EXIT.ok);
    });
}

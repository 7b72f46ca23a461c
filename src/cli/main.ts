import { Command, CommanderError } from 'commander';
import { UserError, errorMessage } from '../errors.js';
import { registerClean } from './commands/clean.js';
import { registerInit } from './commands/init.js';
import { registerLogs } from './commands/logs.js';
import { registerMcp } from './commands/mcp.js';
import { registerMerge } from './commands/merge.js';
import { registerPlan } from './commands/plan.js';
import { registerReport } from './commands/report.js';
import { registerResume } from './commands/resume.js';
import { registerRun } from './commands/run.js';
import { registerStatus } from './commands/status.js';
import { registerWait } from './commands/wait.js';
import { registerWorker } from './commands/worker.js';
import type { CommandContext, CommandIO } from './context.js';
import { readPackageVersion } from './version.js';
import { EXIT } from '../domain/exit-codes.js';

function processIO(): CommandIO {
  return {
    cwd: process.cwd(),
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    env: process.env,
  };
}

/**
 * Parses the command line, runs one command, and returns the process exit code:
 * 0 success, 1 a task failed or was skipped, 2 bad input, 130 interrupted.
 */
export async function main(argv: readonly string[], io: CommandIO = processIO()): Promise<number> {
  let exitCode: number = EXIT.ok;
  const context: CommandContext = {
    ...io,
    argv: argv.slice(2),
    setExitCode: (code) => {
      exitCode = code;
    },
  };
  const program = new Command('orch')
    .description('Run many Claude Code agents in parallel, each in its own git worktree and branch.')
    .version(readPackageVersion(), '-V, --version')
    .showHelpAfterError('(run `orch --help` for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (text) => process.stdout.write(text), writeErr: (text) => process.stderr.write(text) });

  registerPlan(program, context);
  registerRun(program, context);
  registerStatus(program, context);
  registerResume(program, context);
  registerMerge(program, context);
  registerClean(program, context);
  registerWait(program, context);
  registerLogs(program, context);
  registerInit(program, context);
  registerMcp(program, context);
  registerReport(program, context);
  registerWorker(program, context);

  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    return reportError(error, context);
  }
  return exitCode;
}

function reportError(error: unknown, context: CommandIO): number {
  if (error instanceof CommanderError) {
    // Commander has already printed its message; usage errors exit 2, help and version 0.
    return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  if (error instanceof UserError) {
    context.err(`orch: ${error.message}`);
    return error.exitCode;
  }
  context.err(`orch: internal error: ${errorMessage(error)}`);
  if (error instanceof Error && error.stack) context.err(error.stack);
  return EXIT.failed;
}

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

/** Every command by its name, in the order `orch --help` lists them (registerWorker adds `worker` and `workers`). */
const COMMANDS: Record<string, (program: Command, context: CommandContext) => void> = {
  plan: registerPlan,
  run: registerRun,
  status: registerStatus,
  resume: registerResume,
  merge: registerMerge,
  clean: registerClean,
  wait: registerWait,
  logs: registerLogs,
  init: registerInit,
  mcp: registerMcp,
  report: registerReport,
  worker: registerWorker,
  workers: registerWorker,
};

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

  // Only the command asked for is built (the others' options and help are never looked at): all
  // of them for help, a mistyped command (commander suggests the nearest) or an option first.
  const command = argv[2];
  const only = command !== undefined && Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (only) only(program, context);
  else for (const register of new Set(Object.values(COMMANDS))) register(program, context);

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

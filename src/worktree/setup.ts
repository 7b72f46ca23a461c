import { appendFile } from 'node:fs/promises';
import { runCommand } from '../process/run-command.js';

export type SetupResult = { ok: true } | { ok: false; command: string; exitCode: number | null; signal: string | null; timedOut: boolean };

export interface SetupContext {
  cwd: string;
  env: NodeJS.ProcessEnv;
  logFile: string;
  timeoutMs: number;
  graceMs: number;
  /** Stops the command running now like an agent: SIGTERM to its group, SIGKILL after the grace period. */
  signal: AbortSignal;
  /** SIGKILL to its group at once. */
  kill: AbortSignal;
}

/**
 * Runs the user's setup commands in order, in the worktree, through the shell (they are the
 * user's own command lines), each in its own process group, output appended to the setup log.
 * Stops at the first failure.
 */
export async function runSetup(commands: readonly string[], context: SetupContext): Promise<SetupResult> {
  for (const command of commands) {
    if (context.signal.aborted) return { ok: false, command, exitCode: null, signal: 'SIGTERM', timedOut: false };
    await appendFile(context.logFile, `$ ${command}\n`);
    const exit = await runCommand({ ...context, file: '/bin/sh', args: ['-c', command] });
    if (exit.exitCode !== 0) return { ok: false, command, exitCode: exit.exitCode, signal: exit.signal, timedOut: exit.timedOut };
  }
  return { ok: true };
}

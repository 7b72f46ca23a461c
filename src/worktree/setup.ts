import { appendFile } from 'node:fs/promises';
import { AgentProcess } from '../agent/process.js';

export type SetupResult = { ok: true } | { ok: false; command: string; exitCode: number | null; signal: string | null; timedOut: boolean };

export interface SetupContext {
  cwd: string;
  env: NodeJS.ProcessEnv;
  logFile: string;
  timeoutMs: number;
  graceMs: number;
  /** Each command's process, so an interrupt can stop it like an agent. */
  onProcess: (process: AgentProcess) => void;
  isStopped: () => boolean;
}

/**
 * Runs the user's setup commands in order, in the worktree, through the shell (they are the
 * user's own command lines), each in its own process group, output appended to the setup log.
 * Stops at the first failure.
 */
export async function runSetup(commands: readonly string[], context: SetupContext): Promise<SetupResult> {
  for (const command of commands) {
    if (context.isStopped()) return { ok: false, command, exitCode: null, signal: 'SIGTERM', timedOut: false };
    await appendFile(context.logFile, `$ ${command}\n`);
    const process = AgentProcess.spawn({
      file: '/bin/sh',
      args: ['-c', command],
      cwd: context.cwd,
      env: context.env,
      stdinFile: '/dev/null',
      stdoutFile: context.logFile,
      stderrFile: context.logFile,
    });
    context.onProcess(process);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      void process.stop(context.graceMs);
    }, context.timeoutMs);
    try {
      const exit = await process.exited;
      await process.reapGroup(context.graceMs);
      if (exit.exitCode !== 0) return { ok: false, command, exitCode: exit.exitCode, signal: exit.signal, timedOut };
    } finally {
      clearTimeout(timer);
    }
  }
  return { ok: true };
}

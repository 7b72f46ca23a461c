import { appendFile, mkdir, open } from 'node:fs/promises';
import path from 'node:path';
import type { ProcessIdentity } from '../process/process-info.js';
import { runCommand, type CommandExit } from '../process/run-command.js';

export interface CheckRun {
  /** One string (run through the shell, as setup commands are) or an argv list (run without one). */
  check: string | readonly string[];
  worktree: string;
  logFile: string;
  timeoutMs: number;
  graceMs: number;
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
  kill?: AbortSignal | undefined;
  onStart?: ((identity: ProcessIdentity) => Promise<void>) | undefined;
}

/** The check as the user wrote it, for messages and prompts. */
export function describeCheck(check: string | readonly string[]): string {
  return typeof check === 'string' ? check : check.join(' ');
}

/**
 * Runs the merge check in the integration worktree: its own process group, a time limit, its
 * output in a log file of the run folder.
 */
export async function runCheck(run: CheckRun): Promise<CommandExit> {
  await mkdir(path.dirname(run.logFile), { recursive: true });
  await appendFile(run.logFile, `$ ${describeCheck(run.check)}\n`);
  const [file, ...args] = typeof run.check === 'string' ? ['/bin/sh', '-c', run.check] : [...run.check];
  return runCommand({
    file: file!,
    args,
    cwd: run.worktree,
    env: run.env,
    logFile: run.logFile,
    timeoutMs: run.timeoutMs,
    graceMs: run.graceMs,
    signal: run.signal,
    kill: run.kill,
    onStart: run.onStart,
  });
}

/** The end of a check's output, for a summary line. */
export async function tailOf(file: string, lines = 20): Promise<string> {
  try {
    const handle = await open(file, 'r');
    try {
      const { size } = await handle.stat();
      const start = Math.max(0, size - 8192);
      const buffer = Buffer.alloc(size - start);
      await handle.read(buffer, 0, buffer.length, start);
      return buffer.toString('utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } finally {
      await handle.close();
    }
  } catch {
    return '';
  }
}

import { ProcessGroup } from './process-group.js';
import type { ProcessIdentity } from './process-info.js';

export interface CommandRun {
  file: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** stdout and stderr are appended here. */
  logFile: string;
  timeoutMs: number;
  graceMs: number;
  /** Stops the command like an agent: SIGTERM to its group, SIGKILL after the grace period. */
  signal: AbortSignal;
  /** SIGKILL to its group at once. */
  kill?: AbortSignal | undefined;
  /** Told the process's identity once it runs (to put it on record: a crash must not leave it unknown). */
  onStart?: ((identity: ProcessIdentity) => Promise<void>) | undefined;
}

export interface CommandExit {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  durationMs: number;
}

/**
 * Runs one of the user's commands (a setup command, a merge check) in its own process group, its
 * output appended to a log file, within a time limit; whatever it leaves running in its group is
 * stopped when it exits. Spawn failures (a missing program) reject with a SpawnError.
 */
export async function runCommand(run: CommandRun): Promise<CommandExit> {
  const started = Date.now();
  const child = ProcessGroup.spawn({
    file: run.file,
    args: run.args,
    cwd: run.cwd,
    env: run.env,
    stdinFile: '/dev/null',
    stdoutFile: run.logFile,
    stderrFile: run.logFile,
  });
  if (child.pid > 0) await run.onStart?.(child.identity);
  let timedOut = false;
  const stop = (): void => void child.stop(run.graceMs);
  const kill = (): void => child.killNow();
  const timer = setTimeout(() => {
    timedOut = true;
    stop();
  }, run.timeoutMs);
  run.signal.addEventListener('abort', stop);
  run.kill?.addEventListener('abort', kill);
  if (run.signal.aborted) stop();
  try {
    const exit = await child.exited;
    await child.reapGroup(run.graceMs);
    return { ...exit, timedOut, durationMs: Date.now() - started };
  } finally {
    clearTimeout(timer);
    run.signal.removeEventListener('abort', stop);
    run.kill?.removeEventListener('abort', kill);
  }
}

import type * as ChildProcessModule from 'node:child_process';
import { createRequire } from 'node:module';

// child_process (with net, dgram and the stream machinery it brings) is loaded at the first program
// run, not with this module: `orch status` runs none.
const require = createRequire(import.meta.url);
const childProcess = (): typeof ChildProcessModule => require('node:child_process') as typeof ChildProcessModule;

export interface FileRun {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A program that exited non-zero: what it said, for the caller's message. */
export class ExitError extends Error {
  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    readonly stderr: string,
    readonly stdout: string,
  ) {
    super(`${command} exited ${exitCode ?? 'on a signal'}${stderr.trim() ? `: ${stderr.trim()}` : ''}`);
  }
}

/**
 * Runs a program to its end — no shell, stdin closed, its output collected — for the short git
 * questions every command and every attempt asks. Plain child_process: execa costs a command's
 * start ~30 ms to load, and a little more than this at each call. Rejects when the program cannot
 * start (`code` ENOENT…), and, with `reject` (the default), when it exits non-zero (an ExitError).
 */
export function execFile(
  file: string,
  args: readonly string[],
  options: {
    cwd?: string | undefined;
    env?: NodeJS.ProcessEnv | undefined;
    reject?: boolean;
    timeoutMs?: number;
    /** Aborting it kills the program (SIGKILL); the call then rejects with an AbortError. */
    signal?: AbortSignal | undefined;
  } = {},
): Promise<FileRun> {
  return new Promise((resolve, reject) => {
    const child = childProcess().spawn(file, [...args], {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Past its time it is killed (SIGKILL), and ends like any program killed by a signal.
      ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      killSignal: 'SIGKILL',
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    let failed = false;
    child.on('error', (error) => {
      failed = true;
      reject(error);
    });
    child.on('close', (exitCode, signal) => {
      if (failed) return;
      const run: FileRun = {
        exitCode,
        signal,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      };
      if (exitCode !== 0 && options.reject !== false) reject(new ExitError([file, ...args].join(' '), exitCode, run.stderr, run.stdout));
      else resolve(run);
    });
  });
}

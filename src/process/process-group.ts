import { closeSync, openSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn } from 'node:child_process';
import { errorCode } from '../errors.js';
import { identify, isAlive, liveGroupMembers } from './process-info.js';
import type { ProcessIdentity } from './process-info.js';

export interface AgentSpawnSpec {
  file: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** The prompt: given as the agent's stdin, straight from the file. */
  stdinFile: string;
  stdoutFile: string;
  stderrFile: string;
}

export interface AgentExit {
  /** null when unknown: an adopted agent is not orch's child, so its exit status is not reported to orch. */
  exitCode: number | null;
  signal: string | null;
}

export class SpawnError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'SpawnError';
  }
}

type State = 'running' | 'stopping' | 'exited';

/**
 * One agent process, in its own process group (so it and everything it starts can be stopped
 * together), with stdin, stdout and stderr attached to files rather than to pipes held by orch:
 * if orch dies, the agent keeps working and `orch resume` can adopt it.
 */
export class ProcessGroup {
  private state: State = 'running';
  readonly exited: Promise<AgentExit>;

  private constructor(
    readonly identity: ProcessIdentity,
    exited: Promise<AgentExit>,
    /** Whether the process is orch's own child (so its pid cannot be reused before orch reaps it). */
    private readonly ownChild: boolean,
  ) {
    this.exited = exited.then((exit) => {
      this.state = 'exited';
      return exit;
    });
  }

  get pid(): number {
    return this.identity.pid;
  }

  get running(): boolean {
    return this.state !== 'exited';
  }

  static spawn(spec: AgentSpawnSpec): ProcessGroup {
    const stdin = openSync(spec.stdinFile, 'r');
    const stdout = openSync(spec.stdoutFile, 'a');
    const stderr = openSync(spec.stderrFile, 'a');
    try {
      // Plain child_process: execa took twice the main thread's time per start (~1.5 against
      // ~0.75 ms of CPU, measured on this machine), on the path of every agent's start.
      // Raw descriptors: the child gets the files themselves, with no pipe through orch.
      const child = spawn(spec.file, spec.args, { cwd: spec.cwd, env: spec.env, detached: true, stdio: [stdin, stdout, stderr] });
      const pid = child.pid;
      if (pid === undefined) {
        // Node reports spawn failures (ENOENT, EAGAIN, ENOMEM…) asynchronously.
        const failure = new Promise<never>((_, reject) =>
          child.once('error', (error) => {
            const code = errorCode(error);
            reject(new SpawnError(`cannot start ${spec.file}: ${code ?? error.message}`, code));
          }),
        );
        return ProcessGroup.failed(failure);
      }
      // An error after a start (a signal that could not be sent) changes nothing: the exit still comes.
      child.on('error', () => undefined);
      const exited = new Promise<AgentExit>((resolve) => child.once('exit', (exitCode, signal) => resolve({ exitCode, signal })));
      return new ProcessGroup(identify(pid) ?? { pid, startTime: 'unknown' }, exited, true);
    } finally {
      closeSync(stdin);
      closeSync(stdout);
      closeSync(stderr);
    }
  }

  /** A spawn that failed: `exited` rejects with the SpawnError. */
  private static failed(failure: Promise<never>): ProcessGroup {
    const process = new ProcessGroup({ pid: -1, startTime: 'none' }, failure, true);
    process.state = 'exited';
    return process;
  }

  /**
   * Follows an agent that a previous orchestrator started: alive while its pid still belongs to
   * the same process (start time checked), polled because it is not orch's child.
   */
  static adopt(identity: ProcessIdentity, pollMs = 300): ProcessGroup {
    const exited = (async (): Promise<AgentExit> => {
      while (isAlive(identity)) await sleep(pollMs);
      return { exitCode: null, signal: null };
    })();
    return new ProcessGroup(identity, exited, false);
  }

  /** Sends a signal to the agent's process group, but only to processes orch started. */
  signal(signal: NodeJS.Signals): void {
    const leaderAlive = this.state !== 'exited' && (this.ownChild || isAlive(this.identity));
    if (leaderAlive) {
      try {
        process.kill(-this.identity.pid, signal);
      } catch (error) {
        if (errorCode(error) !== 'ESRCH') throw error;
      }
      return;
    }
    // The leader is gone; its group id stays reserved while members remain, so signal only those.
    for (const pid of liveGroupMembers(this.identity.pid)) {
      try {
        process.kill(pid, signal);
      } catch (error) {
        if (errorCode(error) !== 'ESRCH') throw error;
      }
    }
  }

  /** SIGTERM to the group, SIGKILL after the grace period to whatever is left. */
  async stop(graceMs: number): Promise<AgentExit> {
    if (this.state === 'running') this.state = 'stopping';
    this.signal('SIGTERM');
    // The grace timer must not keep orch alive once the agent is gone.
    const exit = await Promise.race([this.exited, sleep(graceMs, undefined, { ref: false }).then(() => undefined)]);
    if (exit) {
      await this.reapGroup(graceMs);
      return exit;
    }
    this.signal('SIGKILL');
    const killed = await this.exited;
    await this.reapGroup(graceMs);
    return killed;
  }

  /** SIGKILL to the group now (a second Ctrl-C). */
  killNow(): void {
    this.signal('SIGKILL');
  }

  /**
   * After the agent itself exited, stops what it left running in its group (a dev server, a
   * watcher): nothing orch started outlives its task.
   */
  async reapGroup(graceMs: number): Promise<void> {
    if (liveGroupMembers(this.identity.pid).length === 0) return;
    this.signal('SIGTERM');
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && liveGroupMembers(this.identity.pid).length > 0) await sleep(100);
    if (liveGroupMembers(this.identity.pid).length > 0) this.signal('SIGKILL');
  }
}

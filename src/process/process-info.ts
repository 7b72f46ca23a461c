import type * as ChildProcessModule from 'node:child_process';
import { createRequire } from 'node:module';
import { readFileSync, readdirSync } from 'node:fs';

// child_process only where there is no /proc (ps), loaded then.
const require = createRequire(import.meta.url);
const childProcess = (): typeof ChildProcessModule => require('node:child_process') as typeof ChildProcessModule;

/** One process, for good: a pid alone can be reused, a pid with its start time cannot. */
export interface ProcessIdentity {
  pid: number;
  /** Opaque, but equal for the same process and different once a pid is reused. */
  startTime: string;
}

export interface ProcessInfo {
  pid: number;
  /** Opaque, but equal for the same process and different once a pid is reused. */
  startTime: string;
  /** One-letter state; `Z` is a zombie (dead, not yet reaped). */
  state: string;
  pgid: number;
}

const hasProc = (() => {
  try {
    readFileSync('/proc/self/stat');
    return true;
  } catch {
    return false;
  }
})();

function fromProcStat(pid: number): ProcessInfo | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name is in parentheses and may itself hold spaces or parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const pgid = Number(fields[2]);
  const startTime = fields[19];
  if (state === undefined || startTime === undefined) return undefined;
  return { pid, startTime, state, pgid };
}

function fromPs(pid: number): ProcessInfo | undefined {
  try {
    const line = childProcess()
      .execFileSync('ps', ['-o', 'stat=,pgid=,lstart=', '-p', String(pid)], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      })
      .trim();
    const match = /^(\S+)\s+(\d+)\s+(.+)$/.exec(line);
    if (!match) return undefined;
    return { pid, state: match[1]!.charAt(0), pgid: Number(match[2]), startTime: match[3]!.trim() };
  } catch {
    return undefined;
  }
}

export function readProcessInfo(pid: number): ProcessInfo | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  return hasProc ? fromProcStat(pid) : fromPs(pid);
}

/** The identity to record for a process just started (or this process). */
export function identify(pid: number): ProcessIdentity | undefined {
  const info = readProcessInfo(pid);
  return info ? { pid, startTime: info.startTime } : undefined;
}

/** This process, as other orch processes will check it (its own entry is always readable). */
export function selfIdentity(): ProcessIdentity {
  return identify(process.pid) ?? { pid: process.pid, startTime: 'unknown' };
}

/**
 * Whether the recorded process is still running: same pid, same start time, not a zombie.
 * A bare `kill(pid, 0)` would be fooled by a reused pid and by an unreaped zombie.
 */
export function isAlive(identity: ProcessIdentity | undefined): boolean {
  if (!identity) return false;
  const info = readProcessInfo(identity.pid);
  return info !== undefined && info.state !== 'Z' && info.startTime === identity.startTime;
}

/** Pids of the live (non-zombie) processes in a process group. */
export function liveGroupMembers(pgid: number): number[] {
  // Signal 0 delivers nothing; it fails when no process at all is left in the group, which
  // spares the scan of every process in the common case.
  try {
    process.kill(-pgid, 0);
  } catch {
    return [];
  }
  if (hasProc) {
    const members: number[] = [];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const info = fromProcStat(Number(entry));
      if (info && info.pgid === pgid && info.state !== 'Z') members.push(info.pid);
    }
    return members;
  }
  try {
    const output = childProcess().execFileSync('ps', ['-eo', 'pid=,pgid=,stat='], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return output
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter((fields) => Number(fields[1]) === pgid && !fields[2]?.startsWith('Z'))
      .map((fields) => Number(fields[0]));
  } catch {
    return [];
  }
}

/**
 * Finds a live agent by the ORCH_RUN_ID / ORCH_TASK_ID orch put in its environment: the safety
 * net for an orchestrator that died between starting an agent and recording its pid. Only
 * process-group leaders qualify (orch starts every agent as one). Linux only (reads /proc).
 */
export function findAgentByEnvironment(runId: string, taskId: string): ProcessIdentity | undefined {
  if (!hasProc) return undefined;
  const wanted = [`ORCH_RUN_ID=${runId}`, `ORCH_TASK_ID=${taskId}`];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const info = fromProcStat(Number(entry));
    if (!info || info.state === 'Z' || info.pgid !== info.pid) continue;
    try {
      const environment = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (wanted.every((variable) => environment.includes(variable))) return { pid: info.pid, startTime: info.startTime };
    } catch {
      // not ours to read, or gone
    }
  }
  return undefined;
}

import { hostname } from 'node:os';
import { errorCode } from '../errors.js';
import { readProcessInfo, selfIdentity } from '../process/process-info.js';

/**
 * Who holds a lock, as its holder wrote it when it took the lock: the host it runs on (a lock on
 * a shared filesystem may have been taken on another machine, where its pid means nothing here),
 * its pid and that process's start time (a pid alone can be reused).
 */
export interface LockOwner {
  host: string;
  pid: number;
  /** Opaque (see ProcessIdentity); absent when the holder could not read its own. */
  startTime?: string;
  /** When the holder took the lock (ISO), for messages. */
  since: string;
}

/** What is known, on this host, of the process a lock's owner record names. */
export type HolderProbe =
  /** No process has that pid. */
  { kind: 'absent' } | { kind: 'present'; startTime: string; zombie: boolean };

export interface BusyLock {
  /** The owner record, or undefined when there is none or it cannot be read. */
  owner: LockOwner | undefined;
  /** This machine's hostname. */
  host: string;
  /** The recorded pid, probed on this host; only asked for when `owner.host` is this host. */
  probe: HolderProbe | undefined;
  /** How long ago the holder last refreshed the lock. */
  ageMs: number;
  staleMs: number;
}

export type BreakReason = 'dead' | 'reused' | 'stale';
export type BusyDecision = { action: 'wait' } | { action: 'break'; reason: BreakReason };

/**
 * Whether a busy lock may be broken. At once when its holder is provably gone: the owner record
 * names this host and its pid is no process (or a zombie), or a process started at another time
 * (the pid was reused). Anything uncertain (no record, another host, a live pid whose start time
 * was not recorded, a holder alive) falls back to staleness: broken once the holder has not
 * refreshed it for `staleMs`.
 */
export function decideBusyLock(lock: BusyLock): BusyDecision {
  const { owner, probe } = lock;
  if (owner && owner.host === lock.host && probe) {
    if (probe.kind === 'absent' || probe.zombie) return { action: 'break', reason: 'dead' };
    if (owner.startTime !== undefined && owner.startTime !== probe.startTime) return { action: 'break', reason: 'reused' };
  }
  return lock.ageMs > lock.staleMs ? { action: 'break', reason: 'stale' } : { action: 'wait' };
}

/** This process, as the owner record of a lock it takes. */
export function ownerRecord(now: Date): LockOwner {
  const self = selfIdentity();
  return {
    host: hostname(),
    pid: self.pid,
    ...(self.startTime === 'unknown' ? {} : { startTime: self.startTime }),
    since: now.toISOString(),
  };
}

/** Reads an owner record's text; undefined when it is not one. */
export function parseOwner(text: string): LockOwner | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  const { host, pid, startTime, since } = record;
  if (typeof host !== 'string' || host === '' || typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0) return undefined;
  if (startTime !== undefined && typeof startTime !== 'string') return undefined;
  return { host, pid, ...(startTime === undefined ? {} : { startTime }), since: typeof since === 'string' ? since : '' };
}

/**
 * Probes the recorded pid on this host (the caller has checked the host). Absent only when the
 * kernel says no such process (ESRCH); a process this user cannot see or signal is unknown.
 */
export function probeHolder(pid: number): HolderProbe | undefined {
  const info = readProcessInfo(pid);
  if (info) return { kind: 'present', startTime: info.startTime, zombie: info.state === 'Z' };
  try {
    process.kill(pid, 0);
  } catch (error) {
    if (errorCode(error) === 'ESRCH') return { kind: 'absent' };
  }
  return undefined;
}

/** Why a lock was broken, as the end of a line naming it ("removed …: <this>"). */
export function describeBreak(owner: LockOwner | undefined, reason: BreakReason, ageMs: number): string {
  const holder = owner ? `its holder (pid ${owner.pid} on ${owner.host})` : 'its holder (no readable owner record)';
  switch (reason) {
    case 'dead':
      return `${holder} is gone`;
    case 'reused':
      return `${holder} is gone, its pid now belongs to another process`;
    case 'stale':
      return `${holder} had not refreshed it for ${Math.round(ageMs / 1000)} s`;
  }
}

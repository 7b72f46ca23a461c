import { mkdir, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { UserError } from '../errors.js';
import { acquireOwnedLock, type LockNotice } from '../worktree/owned-lock.js';
import type { Workdir } from './workdir.js';

/**
 * One worker per workdir: two would take each other's clones, worktrees and agents. The lock
 * records its holder (host, pid, start time: see acquireOwnedLock); one left by a worker that is
 * provably gone on this machine is taken over at once, one held on another machine sharing the
 * workdir only once it has gone 15 s without a refresh. A live holder's is never waited for.
 */
export async function lockWorkdir(workdir: Workdir, notice: (notice: LockNotice) => void): Promise<() => Promise<void>> {
  await mkdir(workdir.root, { recursive: true });
  const release = await acquireOwnedLock(workdir.lock, {
    name: workdir.lock,
    staleMs: 15_000,
    retries: { retries: 0, minTimeout: 0, maxTimeout: 0, factor: 1 },
    notice,
    busyError: (owner) => {
      const holder = owner ? ` (pid ${owner.pid}${owner.host === hostname() ? '' : ` on ${owner.host}`})` : '';
      return new UserError(`${workdir.root} is in use by another orch worker${holder}: give each worker its own --workdir.`);
    },
  });
  // Where an older orch kept its identity, beside its lock: the owner record is inside the lock now.
  await rm(`${workdir.lock}.json`, { force: true });
  return release;
}

import { rm } from 'node:fs/promises';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { UserError, errorCode } from '../errors.js';
import { isAlive } from '../process/process-info.js';
import type { RunPaths } from './paths.js';
import type { ProcessIdentity } from '../process/process-info.js';

export type ReleaseLock = () => Promise<void>;

const LOCK_OPTIONS = { realpath: false, stale: 15_000, update: 3_000, retries: 0 } as const;

/** Releasing a lock that was taken away (onCompromised said so, or another orch broke it) has nothing left to do. */
function releaser(release: ReleaseLock): ReleaseLock {
  return () =>
    release().catch((error: unknown) => {
      if (errorCode(error) !== 'ERELEASED' && errorCode(error) !== 'ENOTACQUIRED') throw error;
    });
}

/**
 * Makes this process the run's single writer. `previousOwner` is the orchestrator the registry
 * names: when it is provably gone (pid and start time), its lock is broken at once instead of
 * waiting for it to go stale. `onCompromised` is told if another process takes the lock over.
 */
export async function acquireRunLock(
  paths: RunPaths,
  previousOwner: ProcessIdentity | undefined,
  onCompromised: (error: Error) => void,
): Promise<ReleaseLock> {
  const lockfilePath = path.join(paths.dir, 'run.lock');
  const options = { ...LOCK_OPTIONS, lockfilePath, onCompromised };
  try {
    return releaser(await lockfile.lock(paths.dir, options));
  } catch (error) {
    if (errorCode(error) !== 'ELOCKED') throw error;
    if (previousOwner && isAlive(previousOwner)) {
      throw new UserError(
        `run ${path.basename(paths.dir)} is owned by orch pid ${previousOwner.pid}, which is still running: stop it first (Ctrl-C, or kill ${previousOwner.pid}).`,
      );
    }
    if (!previousOwner)
      throw new UserError(`run ${path.basename(paths.dir)} is locked by another orch process; try again when it has finished.`);
    // The owner is dead but its lock has not gone stale yet: break it.
    await rm(lockfilePath, { recursive: true, force: true });
    try {
      return releaser(await lockfile.lock(paths.dir, options));
    } catch (retryError) {
      if (errorCode(retryError) === 'ELOCKED')
        throw new UserError(`run ${path.basename(paths.dir)} was just taken over by another orch process.`);
      throw retryError;
    }
  }
}

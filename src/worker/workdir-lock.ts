import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import lockfile from 'proper-lockfile';
import { UserError, errorCode } from '../errors.js';
import { isAlive, selfIdentity, type ProcessIdentity } from '../process/process-info.js';
import type { Workdir } from './workdir.js';

const OPTIONS = { realpath: false, stale: 15_000, update: 3_000, retries: 0 } as const;

async function owner(file: string): Promise<ProcessIdentity | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as ProcessIdentity;
  } catch {
    return undefined;
  }
}

/**
 * One worker per workdir: two would take each other's clones, worktrees and agents. A lock left
 * by a worker that is provably gone (pid and start time in `worker.json`) is broken at once.
 */
export async function lockWorkdir(workdir: Workdir, onCompromised: (error: Error) => void): Promise<() => Promise<void>> {
  await mkdir(workdir.root, { recursive: true });
  const identityFile = `${workdir.lock}.json`;
  const options = { ...OPTIONS, lockfilePath: workdir.lock, onCompromised };
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(workdir.root, options);
  } catch (error) {
    if (errorCode(error) !== 'ELOCKED') throw error;
    const previous = await owner(identityFile);
    if (!previous || isAlive(previous)) {
      throw new UserError(
        `${workdir.root} is in use by another orch worker${previous ? ` (pid ${previous.pid})` : ''}: give each worker its own --workdir.`,
      );
    }
    await rm(workdir.lock, { recursive: true, force: true });
    release = await lockfile.lock(workdir.root, options);
  }
  await writeFile(identityFile, JSON.stringify(selfIdentity()));
  return async () => {
    await rm(identityFile, { force: true });
    await release().catch((error: unknown) => {
      if (errorCode(error) !== 'ERELEASED' && errorCode(error) !== 'ENOTACQUIRED') throw error;
    });
  };
}

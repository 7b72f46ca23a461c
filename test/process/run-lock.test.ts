import { mkdir } from 'node:fs/promises';
import type ProperLockfile from 'proper-lockfile';
import { describe, expect, it, vi } from 'vitest';
import { selfIdentity } from '../../src/process/process-info.js';
import { runPaths } from '../../src/state/paths.js';
import { acquireRunLock } from '../../src/state/run-lock.js';
import { tempDir } from '../support/tmp.js';

const lockControl = vi.hoisted(() => ({ takenOverOnRetry: false }));
vi.mock('proper-lockfile', async (importOriginal) => {
  const actual = await importOriginal<{ default: typeof ProperLockfile }>();
  let calls = 0;
  return {
    default: {
      ...actual.default,
      lock: (file: string, options: Parameters<typeof actual.default.lock>[1]) => {
        calls += 1;
        // Another orch takes the lock between the broken one's removal and our retry.
        if (lockControl.takenOverOnRetry && calls % 2 === 0)
          return Promise.reject(Object.assign(new Error('Lock file is already being held'), { code: 'ELOCKED' }));
        return actual.default.lock(file, options);
      },
    },
  };
});

async function run() {
  const paths = runPaths(await tempDir(), '20260101-000000-abcd');
  await mkdir(paths.dir, { recursive: true });
  return paths;
}

describe('the run lock', () => {
  it('one writer per run: a live owner is named, an unknown holder is reported, a dead owner’s lock is broken', async () => {
    const paths = await run();
    const release = await acquireRunLock(paths, undefined, () => undefined);
    await expect(acquireRunLock(paths, selfIdentity(), () => undefined)).rejects.toThrow(
      `run 20260101-000000-abcd is owned by orch pid ${process.pid}, which is still running: stop it first (Ctrl-C, or kill ${process.pid}).`,
    );
    await expect(acquireRunLock(paths, undefined, () => undefined)).rejects.toThrow(
      'run 20260101-000000-abcd is locked by another orch process; try again when it has finished.',
    );
    // The registry names an owner that is provably gone: its lock is broken at once.
    const next = await acquireRunLock(paths, { pid: process.pid, startTime: 'another process' }, () => undefined);
    await next();
    // The first holder lost its lock: releasing it is not an error.
    await release();
  });

  it('says so when another orch takes the run over while a dead owner’s lock is being broken', async () => {
    const paths = await run();
    const release = await acquireRunLock(paths, undefined, () => undefined);
    lockControl.takenOverOnRetry = true;
    try {
      await expect(acquireRunLock(paths, { pid: process.pid, startTime: 'gone' }, () => undefined)).rejects.toThrow(
        'run 20260101-000000-abcd was just taken over by another orch process.',
      );
    } finally {
      lockControl.takenOverOnRetry = false;
      await release();
    }
  });
});

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, unlink, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { identify, selfIdentity } from '../../src/process/process-info.js';
import type { LockOwner } from '../../src/worktree/lock-owner.js';
import { acquireOwnedLock, sweepPrepared, type OwnedLockOptions } from '../../src/worktree/owned-lock.js';
import { waitFor } from '../support/spawn.js';
import { tempDir } from '../support/tmp.js';

/** A process that existed and is gone (reaped): its identity as a lock holder would have recorded it. */
async function deadProcess(): Promise<{ pid: number; startTime: string }> {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  const identity = identify(child.pid!);
  expect(identity).toBeDefined();
  child.kill('SIGKILL');
  await once(child, 'exit');
  return identity!;
}

/** A lock as a holder leaves it: the directory with its one owner record. */
async function plantLock(dir: string, owner: LockOwner, nonce = 'planted'): Promise<string> {
  await mkdir(dir);
  const file = path.join(dir, `${nonce}.owner`);
  await writeFile(file, JSON.stringify(owner));
  return file;
}

function options(notices: string[], retries = 0): OwnedLockOptions {
  return {
    staleMs: 15_000,
    retries: { retries, minTimeout: 5, maxTimeout: 20, factor: 1.3 },
    notice: (notice) => notices.push(notice.message),
    name: 'git.lock',
  };
}

describe('the owned lock', () => {
  it('records its holder while held and leaves nothing once released', async () => {
    const dir = path.join(await tempDir(), 'git.lock');
    const release = await acquireOwnedLock(dir, options([]));
    const [file, ...others] = await readdir(dir);
    expect(others).toEqual([]);
    expect(file).toMatch(new RegExp(`^${process.pid}-[0-9a-f]{12}\\.owner$`));
    const self = selfIdentity();
    expect(JSON.parse(await readFile(path.join(dir, file!), 'utf8'))).toEqual({
      host: hostname(),
      pid: process.pid,
      startTime: self.startTime,
      since: expect.any(String) as string,
    });
    await release();
    expect(await readdir(path.dirname(dir))).toEqual([]);
  });

  it('waits for a live holder, then says who holds it', async () => {
    const dir = path.join(await tempDir(), 'git.lock');
    const release = await acquireOwnedLock(dir, options([]));
    await expect(acquireOwnedLock(dir, options([], 3))).rejects.toThrow(
      new RegExp(`^git\\.lock is held by pid ${process.pid} since \\S+, which is still running: wait for it to finish, or stop it$`),
    );
    // A waiter takes it once it is released.
    const waiting = acquireOwnedLock(dir, options([], 200));
    await sleep(30);
    await release();
    await (
      await waiting
    )();
    expect(await readdir(path.dirname(dir))).toEqual([]);
  });

  it('takes over at once from a holder on this host that is gone, or whose pid was reused', async () => {
    const dead = await deadProcess();
    const dir = path.join(await tempDir(), 'git.lock');
    await plantLock(dir, { host: hostname(), ...dead, since: '2026-11-22T12:00:00.000Z' });
    const notices: string[] = [];
    // No retries: only the holder's death lets it through, not the passing of time.
    await (
      await acquireOwnedLock(dir, options(notices))
    )();
    expect(notices).toEqual([`removed git.lock: its holder (pid ${dead.pid} on ${hostname()}) is gone`]);

    await plantLock(dir, { host: hostname(), pid: process.pid, startTime: 'another', since: '' });
    await (
      await acquireOwnedLock(dir, options(notices))
    )();
    expect(notices[1]).toBe(
      `removed git.lock: its holder (pid ${process.pid} on ${hostname()}) is gone, its pid now belongs to another process`,
    );
  });

  it('never judges another host’s holder by pid, nor a record it cannot read: those wait for staleness', async () => {
    const dead = await deadProcess();
    const dir = path.join(await tempDir(), 'git.lock');
    const file = await plantLock(dir, { host: `not-${hostname()}`, ...dead, since: '2026-11-22T12:00:00.000Z' });
    await expect(acquireOwnedLock(dir, options([], 2))).rejects.toThrow(
      `git.lock is held by pid ${dead.pid} on not-${hostname()} since 2026-11-22T12:00:00.000Z: wait for it to finish, or stop it there`,
    );
    const past = new Date(Date.now() - 20_000);
    await utimes(file, past, past);
    const notices: string[] = [];
    await (
      await acquireOwnedLock(dir, options(notices))
    )();
    expect(notices).toEqual([`removed git.lock: its holder (pid ${dead.pid} on not-${hostname()}) had not refreshed it for 20 s`]);

    const garbled = path.join(dir, 'x.owner');
    await mkdir(dir);
    await writeFile(garbled, '{');
    await expect(acquireOwnedLock(dir, options([]))).rejects.toThrow(/^git\.lock is held by something orch did not write/);
    await utimes(garbled, past, past);
    await (
      await acquireOwnedLock(dir, options(notices))
    )();
    expect(notices[1]).toBe('removed git.lock: its holder (no readable owner record) had not refreshed it for 20 s');
  });

  it('what it did not write is never removed', async () => {
    const dir = path.join(await tempDir(), 'git.lock');
    await mkdir(dir);
    await writeFile(path.join(dir, 'notes.txt'), 'mine');
    const past = new Date(Date.now() - 60_000);
    await utimes(dir, past, past);
    await expect(acquireOwnedLock(dir, options([], 2))).rejects.toThrow(
      'git.lock is held by something orch did not write (it stays until removed): if no orch is running on this repository, remove it',
    );
    expect(await readFile(path.join(dir, 'notes.txt'), 'utf8')).toBe('mine');
  });

  it('of many waiters that all see the same dead holder, one at a time holds the lock', async () => {
    const root = await tempDir();
    const dir = path.join(root, 'git.lock');
    for (let round = 0; round < 5; round++) {
      await plantLock(dir, { host: hostname(), ...(await deadProcess()), since: '' }, `dead-${round}`);
      const notices: string[] = [];
      let inside = 0;
      let most = 0;
      let turns = 0;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          const release = await acquireOwnedLock(dir, options(notices, 500));
          inside += 1;
          most = Math.max(most, inside);
          await sleep(2);
          turns += 1;
          inside -= 1;
          await release();
        }),
      );
      expect(most).toBe(1);
      expect(turns).toBe(8);
      // The dead holder's lock was broken exactly once; nobody else's ever was.
      expect(notices).toHaveLength(1);
      expect(existsSync(dir)).toBe(false);
    }
    expect(await readdir(root)).toEqual([]);
  });

  it('a holder that lost its lock to a breaker says so, and does not remove the new holder’s', async () => {
    const dir = path.join(await tempDir(), 'git.lock');
    const notices: string[] = [];
    const release = await acquireOwnedLock(dir, { ...options(notices), staleMs: 100 });
    // What a breaker does to a lock it judged abandoned: its owner record goes, and the lock is free.
    const [file] = await readdir(dir);
    await unlink(path.join(dir, file!));
    const next = await acquireOwnedLock(dir, options(notices));
    // The first holder's next refresh finds its record gone.
    await waitFor(() => notices.length > 0 || undefined, 10_000, 'the lost lock to be noticed');
    expect(notices).toEqual(['lost git.lock while holding it: another process took it as abandoned']);
    await release();
    expect((await readdir(dir)).length).toBe(1);
    await next();
    expect(existsSync(dir)).toBe(false);
  });

  it('sweeps what a killed acquisition left beside the lock, when its process is gone', async () => {
    const root = await tempDir();
    const dir = path.join(root, 'git.lock');
    const dead = await deadProcess();
    await plantLock(`${dir}.dead.tmp`, { host: hostname(), ...dead, since: '' }, 'dead');
    await plantLock(`${dir}.live.tmp`, { host: hostname(), ...selfIdentity(), since: '' }, 'live');
    await plantLock(`${dir}.far.tmp`, { host: `not-${hostname()}`, ...dead, since: '' }, 'far');
    // Killed between making the prepared folder and writing its record: removed once it is old.
    await mkdir(`${dir}.unfinished.tmp`);
    await mkdir(`${dir}.recent.tmp`);
    const past = new Date(Date.now() - 11 * 60_000);
    await utimes(`${dir}.unfinished.tmp`, past, past);
    await sweepPrepared(dir);
    expect((await readdir(root)).sort()).toEqual(['git.lock.far.tmp', 'git.lock.live.tmp', 'git.lock.recent.tmp']);
  });
});

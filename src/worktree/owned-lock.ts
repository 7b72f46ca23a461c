import { randomBytes } from 'node:crypto';
import { rmdirSync, unlinkSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, rmdir, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError, errorCode } from '../errors.js';
import { decideBusyLock, describeBreak, ownerRecord, parseOwner, probeHolder, type LockOwner } from './lock-owner.js';

export interface OwnedLockOptions {
  /** How long a holder may go without refreshing the lock before it counts as abandoned. */
  staleMs: number;
  /** How many times a busy lock is looked at again before giving up, and the waits in between. */
  retries: { retries: number; minTimeout: number; maxTimeout: number; factor: number };
  /** Told when this process broke another's lock, or lost its own. */
  notice?: ((notice: LockNotice) => void) | undefined;
  /** The lock's name in messages. */
  name?: string;
  /** The error for a lock still busy after the retries (default: who holds it, and what to do). */
  busyError?: ((owner: LockOwner | undefined) => Error) | undefined;
}

/** This process removed a lock whose holder abandoned it, or lost its own to another that judged it abandoned. */
export interface LockNotice {
  /** The lock's name, as `name` gave it. */
  lock: string;
  action: 'removed' | 'lost';
  /** Why, as the end of a line: "its holder (pid 12 on build-1) is gone". */
  because: string;
  /** The whole line: "removed .gadugi/git.lock: its holder (pid 12 on build-1) is gone". */
  message: string;
}

const OWNER = '.owner';

/** Locks this process holds, removed if it exits while holding them (its record would name a dead pid anyway). */
const held = new Map<string, string>();
let exitHook = false;

function removeHeldOnExit(): void {
  for (const [dir, ownerFile] of held) {
    try {
      unlinkSync(path.join(dir, ownerFile));
      rmdirSync(dir);
    } catch {
      // broken by someone else, or taken again already: not ours to touch
    }
  }
}

type Seen =
  | { kind: 'gone' }
  /** An owner file of this layout (the record may be unreadable). */
  | { kind: 'owned'; ownerFile: string; owner: LockOwner | undefined; ageMs: number }
  /** Something orch did not write there: never broken automatically. */
  | { kind: 'foreign'; ageMs: number };

async function inspect(dir: string): Promise<Seen> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return { kind: 'gone' };
    if (errorCode(error) === 'ENOTDIR') return { kind: 'foreign', ageMs: 0 };
    throw error;
  }
  // Empty: free (released or broken a moment ago, or left by an older orch): the next rename takes it.
  if (entries.length === 0) return { kind: 'gone' };
  const ownerFile = entries[0];
  if (entries.length === 1 && ownerFile?.endsWith(OWNER)) {
    try {
      const file = path.join(dir, ownerFile);
      const [text, info] = await Promise.all([readFile(file, 'utf8'), stat(file)]);
      return { kind: 'owned', ownerFile, owner: parseOwner(text), ageMs: Date.now() - info.mtimeMs };
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return { kind: 'gone' };
      throw error;
    }
  }
  const info = await stat(dir).catch(() => undefined);
  return { kind: 'foreign', ageMs: info ? Date.now() - info.mtimeMs : 0 };
}

function busyMessage(name: string, seen: Seen): string {
  if (seen.kind === 'owned' && seen.owner) {
    const { owner } = seen;
    const since = owner.since ? ` since ${owner.since}` : '';
    return owner.host === hostname()
      ? `${name} is held by pid ${owner.pid}${since}, which is still running: wait for it to finish, or stop it`
      : `${name} is held by pid ${owner.pid} on ${owner.host}${since}: wait for it to finish, or stop it there`;
  }
  return `${name} is held by something orch did not write (it stays until removed): if no orch is running on this repository, remove it`;
}

/**
 * A lock between processes, and between machines sharing a filesystem: a directory holding one
 * file, `<nonce>.owner`, the holder's owner record (host, pid, start time), whose mtime the holder
 * refreshes. It is taken by renaming a prepared directory (record inside) onto the lock's path,
 * which succeeds only while the path is absent or an empty directory: a held lock is never empty,
 * so nobody can mistake a lock being taken for a free one.
 *
 * A busy lock is broken at once when its recorded holder, on this host, is provably gone (see
 * `decideBusyLock`), otherwise once it has not been refreshed for `staleMs`. Breaking is
 * race-free: the breaker deletes the owner file it judged, by its unique name. Of several
 * waiters that judged the same holder, exactly one deletes it; the others get ENOENT and look
 * again. A new holder's lock has another owner file, so a late breaker never removes it.
 */
export async function acquireOwnedLock(dir: string, options: OwnedLockOptions): Promise<() => Promise<void>> {
  const name = options.name ?? path.basename(dir);
  const nonce = `${process.pid}-${randomBytes(6).toString('hex')}`;
  const ownerFile = `${nonce}${OWNER}`;
  const prepared = `${dir}.${nonce}.tmp`;
  await mkdir(prepared);
  try {
    await writeFile(path.join(prepared, ownerFile), `${JSON.stringify(ownerRecord(new Date()))}\n`);
    let delay = options.retries.minTimeout;
    for (let tries = 0; ;) {
      try {
        await rename(prepared, dir);
        break;
      } catch (error) {
        if (errorCode(error) !== 'ENOTEMPTY' && errorCode(error) !== 'EEXIST' && errorCode(error) !== 'ENOTDIR') throw error;
      }
      const seen = await inspect(dir);
      if (seen.kind === 'gone') continue;
      if (seen.kind === 'owned') {
        const host = hostname();
        const probe = seen.owner && seen.owner.host === host ? probeHolder(seen.owner.pid) : undefined;
        const decision = decideBusyLock({ owner: seen.owner, host, probe, ageMs: seen.ageMs, staleMs: options.staleMs });
        if (decision.action === 'break') {
          try {
            await unlink(path.join(dir, seen.ownerFile));
          } catch (error) {
            // Another waiter broke it first (or its holder released it): look again.
            if (errorCode(error) === 'ENOENT') continue;
            throw error;
          }
          // Empty now, so free: removing it is only tidying (it fails harmlessly if taken meanwhile).
          await rmdir(dir).catch(() => undefined);
          const because = describeBreak(seen.owner, decision.reason, seen.ageMs);
          options.notice?.({ lock: name, action: 'removed', because, message: `removed ${name}: ${because}` });
          continue;
        }
      }
      if (tries >= options.retries.retries) {
        const owner = seen.kind === 'owned' ? seen.owner : undefined;
        throw options.busyError ? options.busyError(owner) : new UserError(busyMessage(name, seen));
      }
      tries += 1;
      await sleep(delay);
      delay = Math.min(options.retries.maxTimeout, delay * options.retries.factor);
    }
  } catch (error) {
    await rm(prepared, { recursive: true, force: true });
    throw error;
  }

  const mine = path.join(dir, ownerFile);
  held.set(dir, ownerFile);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', removeHeldOnExit);
  }
  let lost = false;
  const refresh = setInterval(() => {
    const now = new Date();
    utimes(mine, now, now).catch((error: unknown) => {
      if (errorCode(error) !== 'ENOENT' || lost || !held.has(dir)) return;
      lost = true;
      clearInterval(refresh);
      const because = 'another process took it as abandoned';
      options.notice?.({ lock: name, action: 'lost', because, message: `lost ${name} while holding it: ${because}` });
    });
  }, options.staleMs / 2);
  refresh.unref();

  return async () => {
    clearInterval(refresh);
    if (held.get(dir) === ownerFile) held.delete(dir);
    try {
      await unlink(mine);
    } catch (error) {
      // Broken while held (reported when it was seen): whatever is there now is someone else's.
      if (errorCode(error) === 'ENOENT') return;
      throw error;
    }
    await rmdir(dir).catch(() => undefined);
  };
}

/** A prepared directory without a complete record this old was left by an acquisition killed between its two steps. */
const UNFINISHED_PREPARED_MS = 10 * 60_000;

/**
 * Removes what acquisitions of `dir`'s lock killed before they finished left beside it (their
 * prepared directories), when their process is provably gone, or, for one that never got its
 * record written, when it is old enough that no live acquisition can still be writing it. Run
 * once per process.
 */
export async function sweepPrepared(dir: string): Promise<void> {
  const parent = path.dirname(dir);
  const prefix = `${path.basename(dir)}.`;
  const entries = (await readdir(parent).catch(() => [] as string[])).filter((entry) => entry.startsWith(prefix) && entry.endsWith('.tmp'));
  const host = hostname();
  for (const entry of entries) {
    const prepared = path.join(parent, entry);
    const files = await readdir(prepared).catch(() => undefined);
    if (!files) continue;
    const file = files.find((candidate) => candidate.endsWith(OWNER));
    const owner = file ? parseOwner(await readFile(path.join(prepared, file), 'utf8').catch(() => '')) : undefined;
    let gone: boolean;
    if (owner) {
      // Only a provably gone creator's: a live one may still rename it into place.
      gone =
        owner.host === host &&
        decideBusyLock({ owner, host, probe: probeHolder(owner.pid), ageMs: 0, staleMs: Infinity }).action === 'break';
    } else {
      const info = await stat(prepared).catch(() => undefined);
      gone = info !== undefined && Date.now() - info.mtimeMs > UNFINISHED_PREPARED_MS;
    }
    if (gone) await rm(prepared, { recursive: true, force: true });
  }
}

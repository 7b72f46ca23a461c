import { describe, expect, it } from 'vitest';
import { AheadWorktrees } from '../../src/executor/ahead.js';
import type { AheadTask } from '../../src/executor/types.js';
import { GitMutex } from '../../src/worktree/mutex.js';
import { settle } from '../support/fake-clock.js';
import { tempDir } from '../support/tmp.js';

const task = (id: string): AheadTask => ({ id, branch: `orch/r/${id}`, worktree: `/wt/${id}`, baseSha: 'base' });

/** A controllable world: makes wait until the test ends them; the git lock is idle when the test says. */
function world(options: { existing?: string[]; failing?: string[]; startsCameFirst?: string[] } = {}) {
  const made: string[] = [];
  const failures: string[] = [];
  const deferrals: string[] = [];
  const ends = new Map<string, () => void>();
  let inFlight = 0;
  let mostAtOnce = 0;
  let idle = Promise.resolve();
  const queue = new AheadWorktrees({
    idle: () => idle,
    exists: (worktree) => Promise.resolve((options.existing ?? []).some((id) => `/wt/${id}` === worktree)),
    make: (next) => {
      // An attempt begins to start while this one waits for the lock: nothing made, this time.
      const deferred = options.startsCameFirst?.indexOf(next.id) ?? -1;
      if (deferred >= 0) {
        options.startsCameFirst!.splice(deferred, 1);
        deferrals.push(next.id);
        return new Promise<boolean>((resolve) => ends.set(next.id, () => resolve(false)));
      }
      made.push(next.id);
      inFlight += 1;
      mostAtOnce = Math.max(mostAtOnce, inFlight);
      return new Promise<boolean>((resolve, reject) => {
        ends.set(next.id, () => {
          inFlight -= 1;
          if (options.failing?.includes(next.id)) reject(new Error('git worktree add failed'));
          else resolve(true);
        });
      });
    },
    failed: (next, error) => failures.push(`${next.id}: ${String(error)}`),
  });
  return {
    queue,
    made,
    failures,
    deferrals,
    mostAtOnce: () => mostAtOnce,
    /** Ends the creation of `id`, then lets what follows happen. */
    async end(id: string) {
      const end = ends.get(id);
      if (!end) throw new Error(`${id} is not being made (made: ${made.join(', ')})`);
      ends.delete(id);
      end();
      await settle();
    },
    holdLock() {
      let free!: () => void;
      idle = new Promise((resolve) => (free = resolve));
      return async () => {
        free();
        idle = Promise.resolve();
        await settle();
      };
    },
  };
}

describe('AheadWorktrees', () => {
  it('makes one worktree at a time, in the order given', async () => {
    const w = world();
    w.queue.want([task('a'), task('b'), task('c')]);
    await settle();
    expect(w.made).toEqual(['a']);
    await w.end('a');
    expect(w.made).toEqual(['a', 'b']);
    await w.end('b');
    await w.end('c');
    expect(w.made).toEqual(['a', 'b', 'c']);
    expect(w.mostAtOnce()).toBe(1);
  });

  it('takes the latest list: a new wish replaces what was left of the old one', async () => {
    const w = world();
    w.queue.want([task('a'), task('b'), task('c')]);
    await settle();
    w.queue.want([task('d')]);
    await w.end('a');
    expect(w.made).toEqual(['a', 'd']);
    await w.end('d');
    expect(w.made).toEqual(['a', 'd']);
    // A list given once the work had stopped starts it again.
    w.queue.want([task('e')]);
    await settle();
    expect(w.made).toEqual(['a', 'd', 'e']);
    await w.end('e');
  });

  it('leaves a worktree that exists to its attempt, swallows a failure and does not try that one again', async () => {
    const w = world({ existing: ['a'], failing: ['b'] });
    w.queue.want([task('a'), task('b'), task('c')]);
    await settle();
    expect(w.made).toEqual(['b']);
    await w.end('b');
    expect(w.made).toEqual(['b', 'c']);
    expect(w.failures).toEqual(['b: Error: git worktree add failed']);
    await w.end('c');
    w.queue.want([task('b'), task('d')]);
    await settle();
    expect(w.made).toEqual(['b', 'c', 'd']);
    await w.end('d');
    expect(w.failures).toHaveLength(1);
  });

  it('an attempt that began to start while a creation waited for the lock goes first; the creation comes after, if still wanted', async () => {
    const w = world({ startsCameFirst: ['a', 'c'] });
    w.queue.want([task('a'), task('b')]);
    await settle();
    expect(w.deferrals).toEqual(['a']);
    await w.end('a');
    // Tried again once the start is over, before b.
    expect(w.made).toEqual(['a']);
    await w.end('a');
    expect(w.made).toEqual(['a', 'b']);
    await w.end('b');

    // Put off while a new list came: the old list is gone, and c with it.
    w.queue.want([task('c'), task('d')]);
    await settle();
    expect(w.deferrals).toEqual(['a', 'c']);
    w.queue.want([task('d')]);
    await w.end('c');
    expect(w.made).toEqual(['a', 'b', 'd']);
    await w.end('d');
    expect(w.made).toEqual(['a', 'b', 'd']);
  });

  it('starts the next one only when no real git work waits for the lock', async () => {
    const w = world();
    const free = w.holdLock();
    w.queue.want([task('a'), task('b')]);
    await settle();
    expect(w.made).toEqual([]);
    await free();
    expect(w.made).toEqual(['a']);
    const freeAgain = w.holdLock();
    await w.end('a');
    expect(w.made).toEqual(['a']);
    await freeAgain();
    expect(w.made).toEqual(['a', 'b']);
    await w.end('b');
  });

  it('drain drops the list and settles once the creation under way has ended', async () => {
    const w = world();
    w.queue.want([task('a'), task('b')]);
    await settle();
    let drained = false;
    const draining = w.queue.drain().then(() => (drained = true));
    await settle();
    expect(drained).toBe(false);
    await w.end('a');
    await draining;
    expect(w.made).toEqual(['a']);
    // Nothing under way: it settles at once.
    await w.queue.drain();
  });
});

describe('GitMutex.idle', () => {
  it('settles only once nothing of this process holds or waits for the lock', async () => {
    const mutex = new GitMutex(await tempDir('orch-mutex-'));
    await mutex.idle();
    const ends: Array<() => void> = [];
    const hold = (): Promise<void> => mutex.run(() => new Promise<void>((resolve) => ends.push(resolve)));
    const first = hold();
    const second = hold();
    let idle = false;
    const waiting = mutex.idle().then(() => (idle = true));
    await waitUntil(() => ends.length === 1);
    ends.shift()!();
    await first;
    await waitUntil(() => ends.length === 1);
    expect(idle).toBe(false);
    ends.shift()!();
    await second;
    await waiting;
    expect(idle).toBe(true);
  });
});

async function waitUntil(condition: () => boolean): Promise<void> {
  for (let tries = 0; !condition(); tries++) {
    if (tries > 500) throw new Error('condition never met');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

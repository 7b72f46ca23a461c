import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import { acquireOwnedLock, sweepPrepared, type LockNotice } from './owned-lock.js';

/** The lock's path inside the state directory, as messages name it. */
const LOCK = 'git.lock';

export interface GitMutexOptions {
  /** Told when this process broke a lock its holder abandoned (or lost its own). */
  notice?: ((notice: LockNotice) => void) | undefined;
  /** The lock's name in messages (default: `<state dir's name>/git.lock`, `.gadugi/git.lock`). */
  name?: string | undefined;
}

/**
 * Serializes the git operations that write git's shared state — worktree registrations (`git
 * worktree add --no-checkout`, move, remove, prune), branch refs orch makes or puts back — within
 * this process (p-limit) and across orch processes on the same repository (`.gadugi/git.lock`, an
 * owned lock: see `acquireOwnedLock`), because git's own index and ref locks make concurrent
 * `git worktree add` calls fail at random. What touches only one task's own worktree, index and
 * branch (its checkout, merges into its branch) runs outside it. A lock left by an orch that was
 * killed is taken over at once when its holder is provably gone, else after 15 s without refresh.
 */
export class GitMutex {
  private readonly local = pLimit(1);
  /** Operations of this process running or waiting for their turn. */
  private busy = 0;
  private readonly idleWaiters: Array<() => void> = [];
  private swept = false;

  constructor(
    private readonly stateDir: string,
    private readonly options: GitMutexOptions = {},
  ) {}

  run<T>(operation: () => Promise<T>): Promise<T> {
    this.busy += 1;
    return this.local(async () => {
      await mkdir(this.stateDir, { recursive: true });
      const lock = path.join(this.stateDir, LOCK);
      if (!this.swept) {
        this.swept = true;
        await sweepPrepared(lock);
      }
      const release = await acquireOwnedLock(lock, {
        name: this.options.name ?? path.join(path.basename(this.stateDir), LOCK),
        staleMs: 15_000,
        retries: { retries: 200, minTimeout: 25, maxTimeout: 250, factor: 1.3 },
        notice: this.options.notice,
      });
      try {
        return await operation();
      } finally {
        await release();
      }
    }).finally(() => {
      this.busy -= 1;
      if (this.busy === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    });
  }

  /** Settles once no operation of this process holds or waits for the mutex (work that can wait goes then). */
  idle(): Promise<void> {
    if (this.busy === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}

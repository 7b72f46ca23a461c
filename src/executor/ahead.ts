import { pathExists } from '../util/fs.js';
import { fillWorktree, registerWorktree } from '../worktree/git.js';
import type { LocalEnvironment } from './environment.js';
import type { AheadTask } from './types.js';

/** What making worktrees ahead of time needs: when to go, whether a worktree exists, and making one. */
export interface AheadDeps {
  /** Settles once no attempt of this orchestrator is starting and nothing holds or waits for the git lock. */
  idle(): Promise<void>;
  exists(worktree: string): Promise<boolean>;
  /**
   * Makes the task's worktree and branch (registered under the git lock, checked out outside it),
   * unless an attempt began to start meanwhile (then false: it goes first). A failure is
   * swallowed by the caller.
   */
  make(task: AheadTask): Promise<boolean>;
  /** A creation failed: said, not retried by this orchestrator. */
  failed(task: AheadTask, error: unknown): void;
}

/**
 * The attempts of an executor that are starting: from the moment the engine hands one over until
 * its agent runs (or it ends without one). Worktree, preparation and the refs guard's record of
 * every ref all take place then, some under the git lock: nothing is made ahead of time meanwhile.
 */
export class AttemptStarts {
  private count = 0;
  private readonly waiters: Array<() => void> = [];

  /** An attempt begins to start; the returned function says it has (calling it again does nothing). */
  begin(): () => void {
    this.count += 1;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.count -= 1;
      if (this.count === 0) for (const wake of this.waiters.splice(0)) wake();
    };
  }

  get busy(): boolean {
    return this.count > 0;
  }

  /** Settles once no attempt is starting. */
  quiet(): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

/**
 * Makes the worktrees of the tasks the engine will admit next while agents work, so an agent
 * starts the moment a slot frees instead of waiting for its checkout. One at a time (registration
 * and checkout), and each only while no attempt is starting and no git work of this orchestrator
 * waits for the lock: a real start waits behind at most one registration, the one under way when
 * it came (checkouts run outside the lock, so one made ahead of time may overlap real starts). The
 * list is the engine's latest wish (each call replaces it); a worktree that already exists is left
 * to its attempt; a failure is not the task's (its attempt's own registerWorktree and fillWorktree
 * report the real one): it is said through `failed` (the ledger keeps it) and not tried again by this
 * orchestrator.
 */
export class AheadWorktrees {
  private wishes: AheadTask[] = [];
  /** Counts the lists given: one given while a creation waited means the old list is gone. */
  private generation = 0;
  private working: Promise<void> | undefined;
  private readonly failed = new Set<string>();

  constructor(private readonly deps: AheadDeps) {}

  /** Replaces the list of worktrees to make (best first); an empty list drops it. */
  want(tasks: readonly AheadTask[]): void {
    this.generation += 1;
    this.wishes = tasks.filter((task) => !this.failed.has(task.worktree));
    this.pump();
  }

  /** Drops the list and settles once the creation under way, if any, has ended. */
  async drain(): Promise<void> {
    this.want([]);
    while (this.working) await this.working;
  }

  private pump(): void {
    if (this.working || this.wishes.length === 0) return;
    this.working = this.work().finally(() => {
      this.working = undefined;
      this.pump();
    });
  }

  private async work(): Promise<void> {
    for (;;) {
      await this.deps.idle();
      const next = this.wishes.shift();
      if (!next) return;
      const generation = this.generation;
      try {
        if (await this.deps.exists(next.worktree)) continue;
        // An attempt began to start meanwhile: it goes first, this one after it (if still wanted).
        if (!(await this.deps.make(next)) && generation === this.generation) this.wishes.unshift(next);
      } catch (error) {
        this.failed.add(next.worktree);
        this.deps.failed(next, error);
      }
    }
  }
}

/** How a worktree made ahead of time came to be; `deferred`: an attempt began to start first, nothing was done. */
export type MadeAhead = 'created' | 'pooled' | 'reattached' | 'there' | 'deferred';

/**
 * Makes a task's worktree and branch from its base, as its attempt would: registered (or taken
 * from the warm pool) under the git lock, and the new branch told to the refs guard as orch's
 * own, so the checks of agents running meanwhile do not put it back; then checked out outside the
 * lock, so the attempts starting meanwhile wait behind the registration only (an attempt whose own
 * worktree is being checked out here waits for that checkout instead of doing it again). Nothing
 * is done when an attempt is starting by the time the lock is held (`starting`).
 */
export async function makeWorktreeAhead(environment: LocalEnvironment, task: AheadTask, starting: () => boolean): Promise<MadeAhead> {
  const made = await environment.gitMutex.run(async (): Promise<MadeAhead> => {
    if (starting()) return 'deferred';
    // Its attempt may have started and made it while this waited for the lock.
    if (await pathExists(task.worktree)) return 'there';
    const how = await registerWorktree(environment.repoRoot, task.worktree, task.branch, task.baseSha, environment.pool);
    if (how === 'reused') return 'there';
    if (how !== 'reattached') environment.refsGuard?.madeByOrch({ [`refs/heads/${task.branch}`]: task.baseSha });
    return how;
  });
  if (made === 'created' || made === 'reattached' || made === 'pooled') await fillWorktree(task.worktree);
  return made;
}

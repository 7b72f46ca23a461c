import { EXIT } from '../domain/exit-codes.js';
import type { Integrator } from '../engine/integrator.js';
import type { MergeSummary } from '../events.js';
import { fastForward } from './into.js';
import { MergeQueue, type MergeQueueDeps } from './queue.js';

export interface RunIntegratorDeps extends Omit<MergeQueueDeps, 'signal' | 'kill' | 'runFinished'> {
  /** `--into`: the branch to fast-forward at the end. */
  into?: string | undefined;
  /** Where a failure of the queue goes (the run stops with it). */
  onError: (error: unknown) => void;
}

/**
 * `run --merge`: the merge queue, working in the background while the run's other tasks go on.
 * Each success asks it to integrate what is ready; integrations happen one at a time, in order;
 * the run ends once the queue has integrated what it could.
 */
export class RunIntegrator implements Integrator {
  private readonly stopping = new AbortController();
  private readonly killing = new AbortController();
  private readonly queue: MergeQueue;
  private chain: Promise<void> = Promise.resolve();
  private opened = false;
  private runOver = false;

  constructor(private readonly deps: RunIntegratorDeps) {
    this.queue = new MergeQueue({ ...deps, signal: this.stopping.signal, kill: this.killing.signal, runFinished: () => this.runOver });
  }

  startPoint(): string | undefined {
    return this.opened ? this.queue.checkedHead : undefined;
  }

  integrate(): void {
    this.chain = this.chain.then(() => this.step()).catch((error: unknown) => this.deps.onError(error));
  }

  private async step(): Promise<void> {
    if (this.stopping.signal.aborted) return;
    if (!this.opened) {
      // Nothing to integrate yet: no branch, no worktree.
      if (!this.deps.store.tasks.some((task) => task.status === 'succeeded')) return;
      const { resumed } = await this.queue.open();
      this.opened = true;
      await this.deps.store.record({
        type: 'merge-started',
        branch: this.deps.store.run.merge!.branch,
        head: this.queue.integrationHead,
        resumed,
      });
    }
    await this.queue.drain();
  }

  async finish(stopping: boolean): Promise<MergeSummary | undefined> {
    this.runOver = true;
    await this.chain;
    if (!stopping && !this.stopping.signal.aborted) {
      try {
        await this.step();
      } catch (error) {
        this.deps.onError(error);
      }
    }
    const merge = this.deps.store.run.merge!;
    const summary = this.opened
      ? this.queue.summary()
      : {
          branch: merge.branch,
          head: merge.startSha,
          counts: { pending: 0, merged: 0, conflict: 0, 'check-failed': 0, held: 0 },
          tasks: [],
        };
    if (this.deps.into && this.opened && !stopping && !this.stopping.signal.aborted) {
      const moved = await fastForward(this.deps.store.run.repoRoot, this.deps.into, this.queue.integrationHead);
      summary.into = moved.moved ? { branch: this.deps.into, moved: true } : { branch: this.deps.into, moved: false, reason: moved.reason };
      if (moved.moved && moved.from !== moved.to)
        await this.deps.store.record({ type: 'merge-into', branch: this.deps.into, from: moved.from, to: moved.to });
    }
    const interrupted = stopping || this.stopping.signal.aborted;
    const exitCode = interrupted
      ? EXIT.interrupted
      : summary.counts.merged === summary.tasks.length && (summary.into?.moved ?? true)
        ? EXIT.ok
        : EXIT.failed;
    merge.status = interrupted ? 'interrupted' : 'finished';
    merge.exitCode = exitCode;
    merge.finishedAt = new Date().toISOString();
    if (this.opened) await this.deps.store.record({ type: 'merge-finished', status: merge.status, exitCode, summary });
    return summary;
  }

  stop(reason: 'user' | 'abort'): void {
    if (!this.stopping.signal.aborted) this.stopping.abort(reason);
  }
}

import type { MergeSummary } from '../events.js';

/**
 * What the engine asks of a merge queue that integrates tasks while the run goes on
 * (`run --merge`). The engine stays ignorant of git: it says when tasks succeed, asks where new
 * branches start, and waits for the queue before the run ends.
 */
export interface Integrator {
  /** Where a task's new branch starts: the integration branch's head once something was integrated, else undefined (the run's base). */
  startPoint(): string | undefined;
  /** A task succeeded (or the run resumed): integrate what is ready, in the background. */
  integrate(): void;
  /** The run's tasks are all over (or the run stops): integrate what is left, then end the merge and say how it ended. */
  finish(stopping: boolean): Promise<MergeSummary | undefined>;
  /** Stop what is integrating now (Ctrl-C, an abort). */
  stop(reason: 'user' | 'abort'): void;
}

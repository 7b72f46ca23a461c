import type { TaskRecord } from '../state/registry.js';
import { FINAL_FAILURES } from '../domain/vocabulary.js';
import { skippedBecauseOf } from './resume-plan.js';

/**
 * The sequential fallback pass: tasks that failed while running in parallel (for a reason another
 * attempt could fix) get one more attempt, and the tasks their failure skipped come back.
 */
export function fallbackCandidates(tasks: readonly TaskRecord[]): { retry: TaskRecord[]; revive: TaskRecord[] } {
  const retry = tasks.filter(
    (task) => task.status === 'failed' && task.failedInParallel === true && !(task.failure && FINAL_FAILURES.has(task.failure)),
  );
  return { retry, revive: skippedBecauseOf(tasks, new Set(retry.map((task) => task.id))) };
}

import type { TaskStatus } from '../domain/vocabulary.js';
import type { WaitReason } from '../domain/waiting.js';

export interface WaitingTask {
  id: string;
  status: TaskStatus;
  dependsOn: readonly string[];
  /** A failed task waiting out its retry backoff (ms since epoch). */
  retryAt?: number | undefined;
}

/** What holds tasks back, as the scheduler sees it at `now`. */
export interface WaitingInput {
  tasks: readonly WaitingTask[];
  running: ReadonlySet<string>;
  /** How many of the running tasks take an agent slot (one whose agent exited with a success does not); all of them when not given. */
  agents?: number | undefined;
  conflicts: ReadonlyArray<{ a: string; b: string; files: readonly string[] }>;
  limit: { value: number; reason: string };
  /** New starts paused by API pressure until then (ms since epoch). */
  apiPausedUntil?: number | undefined;
  /** New starts paused by a plan's usage limit until then (ms since epoch). */
  usagePausedUntil?: number | undefined;
  usageLimitType?: string | undefined;
  /** The run admits nothing more: its budget is spent, or a usage limit resets beyond --max-wait. */
  halted?: { kind: 'budget'; maxCostUsd: number; costUsd: number } | { kind: 'usage-limit'; until: number } | undefined;
  /** Ctrl-C or an abort: nothing new starts. */
  stopping: boolean;
  now: number;
}

const iso = (time: number): string => new Date(time).toISOString();

/**
 * Why each pending task is not running, the most fundamental reason first: the run stopping or
 * halted, then unfinished dependencies, a retry backoff, a usage-limit or API pause, a running
 * task touching the same files, the concurrency limit. A pending task held back by none of them
 * is `ready` (it starts at the next scheduling pass).
 */
export function waitingReasons(input: WaitingInput): Map<string, WaitReason> {
  const status = new Map(input.tasks.map((task) => [task.id, task.status]));
  const reasons = new Map<string, WaitReason>();
  for (const task of input.tasks) {
    if (task.status !== 'pending') continue;
    reasons.set(task.id, reasonFor(task, input, status));
  }
  return reasons;
}

function reasonFor(task: WaitingTask, input: WaitingInput, status: ReadonlyMap<string, TaskStatus>): WaitReason {
  const { now } = input;
  if (input.stopping) return { kind: 'stopping' };
  const halted = input.halted;
  if (halted?.kind === 'budget') return { kind: 'budget', maxCostUsd: halted.maxCostUsd, costUsd: halted.costUsd };
  if (halted?.kind === 'usage-limit')
    return { kind: 'usage-limit', until: iso(halted.until), limitType: input.usageLimitType, stopped: true };
  const unfinished = task.dependsOn.filter((dependency) => status.get(dependency) !== 'succeeded');
  if (unfinished.length > 0) return { kind: 'dependency', on: unfinished };
  if (task.retryAt !== undefined && task.retryAt > now) return { kind: 'retry', at: iso(task.retryAt) };
  if (input.usagePausedUntil !== undefined && input.usagePausedUntil > now) {
    return { kind: 'usage-limit', until: iso(input.usagePausedUntil), limitType: input.usageLimitType, stopped: false };
  }
  if (input.apiPausedUntil !== undefined && input.apiPausedUntil > now) return { kind: 'api-pause', until: iso(input.apiPausedUntil) };
  for (const conflict of input.conflicts) {
    const other = conflict.a === task.id ? conflict.b : conflict.b === task.id ? conflict.a : undefined;
    if (other !== undefined && input.running.has(other)) return { kind: 'conflict', with: other, files: [...conflict.files] };
  }
  if ((input.agents ?? input.running.size) >= input.limit.value)
    return { kind: 'limit', limit: input.limit.value, reason: input.limit.reason };
  return { kind: 'ready' };
}

/** Whether two readings of a task's reason say the same thing. */
export function sameWait(a: WaitReason | undefined, b: WaitReason | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

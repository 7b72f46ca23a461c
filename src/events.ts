import type { AttemptKind, FailureKind, MergeStatus, RunStatus, TaskStatus } from './domain/vocabulary.js';
import type { WaitReason } from './domain/waiting.js';
import type { RefChange } from './worktree/refs-guard.js';

/**
 * Everything core code reports, as data. Renderers (TTY, plain lines, NDJSON) consume these;
 * the run ledger stores every one except `task-activity`.
 */
export type OrchEvent =
  | {
      type: 'run-started';
      runId: string;
      baseRef: string;
      baseSha: string;
      tasks: number;
      maxParallel: number | 'auto';
      resumed: boolean;
      detached: boolean;
    }
  | {
      type: 'task-status';
      taskId: string;
      status: TaskStatus;
      previous: TaskStatus;
      attempt: number;
      kind?: AttemptKind;
      reason?: string;
      failure?: FailureKind;
      pid?: number;
      branch?: string;
      commits?: number;
      retryInMs?: number;
    }
  | { type: 'task-activity'; taskId: string; activity: string; turns: number }
  /** A worker took a task's job (`run --workers`); `from` names the worker it was lost on, when it moved. */
  | { type: 'task-worker'; taskId: string; attempt: number; worker: string; host: string; from?: string }
  | { type: 'limit'; limit: number; reason: LimitReason; running: number }
  | { type: 'api-pressure'; status: number; pausedForMs: number; pausedUntil: string; level: number }
  /**
   * A plan's usage limit, seen in an agent's stream or result: new starts pause until the reset
   * (`pause`), the run stops admitting tasks because the reset is beyond --max-wait (`stop`), or,
   * after a warning, the limit is held at `limit` until the reset (`cap`).
   */
  | {
      type: 'usage-limit';
      status: 'rejected' | 'allowed_warning';
      resetsAt: string;
      limitType?: string;
      action: 'pause' | 'stop' | 'cap';
      limit?: number;
    }
  /** The run's recorded cost reached its budget: no new task starts. */
  | { type: 'budget'; costUsd: number; maxCostUsd: number }
  /** Why pending tasks wait, for the tasks whose reason changed (a task stops waiting when it starts). */
  | { type: 'waiting'; changes: Array<{ taskId: string; waiting: WaitReason }> }
  | { type: 'mode'; mode: 'sequential'; reason: string }
  /** The run stops admitting tasks and stops its running agents: the moment Ctrl-C (or an abort) reached it. */
  | { type: 'stopping'; reason: 'interrupt' | 'abort'; running: number; message?: string }
  | { type: 'warning'; message: string }
  /**
   * A task's worktree could not be made ahead of time (kept in the ledger only): its attempt makes
   * it at its start, and reports its own failure if there is one.
   */
  | { type: 'ahead-failed'; taskId: string; worktree: string; message: string }
  /**
   * The refs guard found refs other than the task's branch changed by its agent and put them
   * back (`changes`, recorded before anything is deleted), or could not put some back (`problems`).
   */
  | {
      type: 'refs-restored';
      taskId: string;
      attempt: number;
      changes: RefChange[];
      problems: string[];
      /** Set for the merge agent that resolved the task's conflict (not one of the task's own attempts). */
      agent?: 'merge';
    }
  /** The merge queue starts (or continues) integrating the run's tasks into its integration branch. */
  | { type: 'merge-started'; branch: string; head: string; resumed: boolean }
  /** A task's place in the merge queue changed. */
  | {
      type: 'merge-status';
      taskId: string;
      status: MergeStatus;
      previous?: MergeStatus | undefined;
      commit?: string;
      conflictFiles?: string[];
      reason?: string;
    }
  /** The check ran on the integration branch after these tasks' merges. */
  | { type: 'merge-check'; taskIds: string[]; passed: boolean; exitCode: number | null; timedOut: boolean; durationMs: number; log: string }
  /** An agent resolves (or failed to resolve) a conflict. */
  | { type: 'merge-resolve'; taskId: string; stage: 'started' | 'resolved' | 'failed'; reason?: string }
  /** `--into`: the branch was fast-forwarded to the integration branch. */
  | { type: 'merge-into'; branch: string; from: string; to: string }
  | { type: 'merge-finished'; status: 'finished' | 'interrupted' | 'aborted'; exitCode: number; summary: MergeSummary }
  | { type: 'run-finished'; status: RunStatus; exitCode: number; summary: RunSummary };

/** A task's state change: what every transition returns and the ledger records. */
export type TaskStatusEvent = Extract<OrchEvent, { type: 'task-status' }>;

export type LimitReason = 'cores' | 'memory' | 'load' | 'api' | 'usage-limit' | 'usage-warning' | 'max-parallel' | 'sequential' | 'workers';

export interface TaskSummary {
  id: string;
  status: TaskStatus;
  durationMs: number;
  branch: string;
  commits: number;
  turns?: number;
  costUsd?: number;
  attempts: number;
  reason?: string;
  succeededInFallback: boolean;
  /** What the refs guard put back after this task's agents, one line per change, over all attempts. */
  refsRestored: string[];
}

export interface RunSummary {
  runId: string;
  tasks: TaskSummary[];
  counts: Record<TaskStatus, number>;
  /** Time an orchestrator was driving the run, summed over the run and its resumes (each to its end or last heartbeat). */
  wallMs: number;
  /** Agent time summed over every attempt of every task. */
  taskTimeMs: number;
  /** taskTimeMs ÷ wallMs: how many agents ran at once, on average. Not a speedup: nothing ran the tasks one by one to compare with. */
  averageConcurrency: number;
  costUsd: number;
  /** `run --merge`: how the merge queue ended. */
  merge?: MergeSummary;
}

export interface MergeSummary {
  branch: string;
  head: string;
  counts: Record<MergeStatus, number>;
  tasks: Array<{ id: string; status: MergeStatus; commit?: string; conflictFiles?: string[]; checkMs?: number; reason?: string }>;
  /** `--into`: the branch moved to the integration head, or why it was not. */
  into?: { branch: string; moved: boolean; reason?: string };
}

/** An event as written to the ledger and printed by `--json`: numbered and timestamped. */
export type StampedEvent = OrchEvent & { seq: number; at: string };

export type EventSink = (event: StampedEvent) => void;

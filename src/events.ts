import type { AttemptKind, FailureKind, RunStatus, TaskStatus } from './domain/vocabulary.js';
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
  | { type: 'limit'; limit: number; reason: LimitReason; running: number }
  | { type: 'api-pressure'; status: number; pausedForMs: number; pausedUntil: string; level: number }
  | { type: 'mode'; mode: 'sequential'; reason: string }
  /** The run stops admitting tasks and stops its running agents: the moment Ctrl-C (or an abort) reached it. */
  | { type: 'stopping'; reason: 'interrupt' | 'abort'; running: number; message?: string }
  | { type: 'warning'; message: string }
  /**
   * The refs guard found refs other than the task's branch changed by its agent and put them
   * back (`changes`, recorded before anything is deleted), or could not put some back (`problems`).
   */
  | { type: 'refs-restored'; taskId: string; attempt: number; changes: RefChange[]; problems: string[] }
  | { type: 'run-finished'; status: RunStatus; exitCode: number; summary: RunSummary };

/** A task's state change: what every transition returns and the ledger records. */
export type TaskStatusEvent = Extract<OrchEvent, { type: 'task-status' }>;

export type LimitReason = 'cores' | 'memory' | 'load' | 'api' | 'max-parallel' | 'sequential';

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
}

/** An event as written to the ledger and printed by `--json`: numbered and timestamped. */
export type StampedEvent = OrchEvent & { seq: number; at: string };

export type EventSink = (event: StampedEvent) => void;

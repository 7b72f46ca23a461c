import { z } from 'zod';
import type { ProcessIdentity } from '../process/process-info.js';
import { ATTEMPT_KINDS, ATTEMPT_OUTCOMES, FAILURE_KINDS, MERGE_STATUSES, RUN_STATUSES, TASK_STATUSES } from '../domain/vocabulary.js';
import type { WaitReason } from '../domain/waiting.js';

const isoTime = z.string();

const processIdentity = z.object({ pid: z.number().int(), startTime: z.string() }) satisfies z.ZodType<ProcessIdentity>;

export const waitReasonSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('dependency'), on: z.array(z.string()) }),
  z.object({ kind: z.literal('retry'), at: isoTime }),
  z.object({ kind: z.literal('conflict'), with: z.string(), files: z.array(z.string()) }),
  z.object({ kind: z.literal('limit'), limit: z.number().int(), reason: z.string() }),
  z.object({ kind: z.literal('api-pause'), until: isoTime }),
  z.object({ kind: z.literal('usage-limit'), until: isoTime, limitType: z.string().optional(), stopped: z.boolean() }),
  z.object({ kind: z.literal('budget'), maxCostUsd: z.number(), costUsd: z.number() }),
  z.object({ kind: z.literal('stopping') }),
  z.object({ kind: z.literal('ready') }),
]) satisfies z.ZodType<WaitReason>;
const refChangeSchema = z.object({
  ref: z.string(),
  action: z.enum(['created', 'moved', 'deleted', 'switched']),
  before: z.string().optional(),
  after: z.string().optional(),
  suspects: z.array(z.string()).optional(),
});

const attemptSchema = z.object({
  number: z.number().int().min(1),
  kind: z.enum(ATTEMPT_KINDS),
  startedAt: isoTime,
  finishedAt: isoTime.optional(),
  /** Paths relative to the run folder. */
  log: z.string(),
  stderr: z.string(),
  prompt: z.string(),
  pid: z.number().int().optional(),
  exitCode: z.number().int().nullable().optional(),
  signal: z.string().nullable().optional(),
  outcome: z.enum(ATTEMPT_OUTCOMES).optional(),
  reason: z.string().optional(),
  /** True when another agent ran at the same time: only such failures trigger the sequential fallback. */
  parallel: z.boolean().default(false),
  /** This attempt's turns and cost (the task's figures are their sums). */
  turns: z.number().int().optional(),
  costUsd: z.number().optional(),
  /** The job that carries the attempt to the workers (`run --workers`): resume finds it again by this id. */
  job: z.object({ id: z.string(), queue: z.string() }).optional(),
  /** The worker running it (the last one, when its job moved after a worker was lost). */
  worker: z.object({ id: z.string(), name: z.string(), host: z.string() }).optional(),
  /** How many times its job moved to another worker. */
  moves: z.number().int().optional(),
  /** Refs other than the task's branch that this attempt's agent changed, put back by the refs guard. */
  refsRestored: z.array(refChangeSchema).optional(),
  /** What the refs guard could not put back or check. */
  refsProblems: z.array(z.string()).optional(),
});
export type AttemptRecord = z.infer<typeof attemptSchema>;

const commitSchema = z.object({ sha: z.string(), subject: z.string() });

const taskSchema = z.object({
  id: z.string(),
  title: z.string(),
  promptFile: z.string(),
  dependsOn: z.array(z.string()),
  files: z.array(z.string()),
  priority: z.number(),
  order: z.number().int(),
  timeoutMs: z.number().optional(),
  maxTurns: z.number().int().optional(),
  model: z.string().optional(),

  status: z.enum(TASK_STATUSES),
  reason: z.string().optional(),
  failure: z.enum(FAILURE_KINDS).optional(),
  worktree: z.string(),
  branch: z.string(),
  /** Agent starts so far (every kind); `retriesUsed` counts the ones spent on failures. */
  attempts: z.number().int().min(0),
  retriesUsed: z.number().int().min(0).default(0),
  apiRequeues: z.number().int().min(0).default(0),
  attemptLog: z.array(attemptSchema),
  /** Why a pending task is not running now (the engine's latest reading). */
  waiting: waitReasonSchema.optional(),
  /** When a failed task may be retried (backoff). */
  retryAt: isoTime.optional(),
  /** How the task's next attempt starts, when it is not a first attempt. */
  next: z.object({ kind: z.enum(ATTEMPT_KINDS), note: z.string().optional(), resumeSessionId: z.string().optional() }).optional(),

  /** The agent process; orch starts it as its own process-group leader, so this pid is also its group id. */
  agent: processIdentity.optional(),
  startedAt: isoTime.optional(),
  finishedAt: isoTime.optional(),
  heartbeatAt: isoTime.optional(),
  lastActivity: z.string().optional(),
  lastActivityAt: isoTime.optional(),
  exitCode: z.number().int().nullable().optional(),
  signal: z.string().nullable().optional(),

  sessionId: z.string().optional(),
  /** Sums over the attempts. */
  turns: z.number().int().optional(),
  costUsd: z.number().optional(),
  agentMs: z.number().optional(),
  permissionDenials: z.array(z.string()).default([]),
  commits: z.array(commitSchema).default([]),

  skippedBecause: z.string().optional(),
  failedInParallel: z.boolean().optional(),
  succeededInFallback: z.boolean().optional(),

  /** Set once dependency merges, copies and setup have all completed in the task's worktree. */
  worktreeReady: z.boolean().optional(),
  ports: z.array(z.number().int()).optional(),
  copiedFiles: z.array(z.string()).optional(),
  setupMs: z.number().optional(),
  /** Setup did not run: it had completed in this worktree before, and its `worktree.setupKey` files are unchanged. */
  setupSkipped: z.boolean().optional(),
  /** The worktree was taken from the warm pool (switched to the task's branch, ignored files kept). */
  worktreeFromPool: z.boolean().optional(),

  /**
   * Tasks it conflicts with that had succeeded when its branch was made: their branches were
   * merged into it first, so their edits and its own are sequential, not conflicting.
   */
  builtOn: z.array(z.string()).optional(),
  /** The commit its branch started from when that was not the run's base (the integration branch's head, with `run --merge`). */
  startSha: z.string().optional(),
  /** Its place in the merge queue (`orch merge`, `run --merge`). */
  merge: z
    .object({
      status: z.enum(MERGE_STATUSES),
      /** The commit that integrated it (once it is on the integration branch). */
      commit: z.string().optional(),
      conflictFiles: z.array(z.string()).optional(),
      reason: z.string().optional(),
      check: z
        .object({
          exitCode: z.number().int().nullable(),
          signal: z.string().nullable(),
          timedOut: z.boolean(),
          durationMs: z.number(),
          /** Relative to the run folder: the check's output. */
          log: z.string(),
        })
        .optional(),
      /** The agent that resolved (or tried to resolve) a conflict. */
      resolution: z
        .object({
          startedAt: isoTime,
          finishedAt: isoTime.optional(),
          log: z.string(),
          stderr: z.string(),
          prompt: z.string(),
          agent: processIdentity.optional(),
          outcome: z.enum(['resolved', 'failed', 'interrupted']).optional(),
          reason: z.string().optional(),
          turns: z.number().int().optional(),
          costUsd: z.number().optional(),
          sessionId: z.string().optional(),
        })
        .optional(),
    })
    .optional(),
});
export type TaskRecord = z.infer<typeof taskSchema>;
export type TaskMerge = NonNullable<TaskRecord['merge']>;

const runSchema = z.object({
  version: z.literal(1),
  id: z.string(),
  repoRoot: z.string(),
  baseRef: z.string(),
  baseSha: z.string(),
  /** The branch the base came from, if any: where task branches are expected to be merged. */
  baseBranch: z.string().optional(),
  promptFiles: z.array(z.string()),
  worktreeRoot: z.string(),
  /** The effective config the run started with (resume uses it again). */
  config: z.record(z.string(), z.unknown()),
  conflicts: z.array(z.object({ a: z.string(), b: z.string(), files: z.array(z.string()) })),
  orchestrator: processIdentity.extend({ host: z.string() }),
  /** Every orchestrator session: the first run and each resume. */
  sessions: z.array(
    z.object({
      pid: z.number().int(),
      startedAt: isoTime,
      /** The last heartbeat of this session's orchestrator: where a session killed with kill -9 ended. */
      lastAliveAt: isoTime.optional(),
      finishedAt: isoTime.optional(),
    }),
  ),
  startedAt: isoTime,
  heartbeatAt: isoTime,
  finishedAt: isoTime.optional(),
  status: z.enum(RUN_STATUSES),
  reason: z.string().optional(),
  exitCode: z.number().int().optional(),
  mode: z.enum(['parallel', 'sequential']),
  modeReason: z.string().optional(),
  limit: z.object({ value: z.number().int(), reason: z.string() }),
  apiPausedUntil: isoTime.optional(),
  /**
   * A plan's usage limit: new starts paused until its reset (`pausedUntil`), or, after a warning,
   * no more agents than `cap` until `capUntil`.
   */
  usageLimit: z
    .object({
      pausedUntil: isoTime.optional(),
      limitType: z.string().optional(),
      cap: z.number().int().optional(),
      capUntil: isoTime.optional(),
    })
    .optional(),
  /** The run stopped admitting tasks on purpose (a usage limit beyond --max-wait, the budget); cleared on resume. */
  halted: z.object({ kind: z.enum(['usage-limit', 'budget']), message: z.string() }).optional(),
  detached: z.boolean().optional(),
  /** Where a run with `--workers` sends its attempts; the URL is stored without its password. */
  workers: z
    .object({
      url: z.string(),
      /** The remote the code travels through, as workers see it (no credentials). */
      remote: z.string(),
      queue: z.string(),
    })
    .optional(),
  /** Whether this session's agents run in Claude Code's sandbox, and the line that says so. */
  sandbox: z.object({ enabled: z.boolean(), summary: z.string() }).optional(),
  /** The merge queue's integration branch and worktree, once one was made. */
  merge: z
    .object({
      branch: z.string(),
      worktree: z.string(),
      /** Where the integration branch started: the run's base. */
      startSha: z.string(),
      /** Merge sessions: `orch merge`, or the run itself with `--merge`. */
      status: z.enum(['running', 'finished', 'interrupted', 'aborted']),
      startedAt: isoTime,
      finishedAt: isoTime.optional(),
      exitCode: z.number().int().optional(),
      /** The orchestrator of an `orch merge` session (a run with --merge is its own). */
      orchestrator: processIdentity.optional(),
      /** The check running now (a merge killed meanwhile stops it when it reopens). */
      checkProcess: processIdentity.optional(),
      /** Set up like a task worktree (copies, setup commands) once. */
      worktreeReady: z.boolean().optional(),
      copiedFiles: z.array(z.string()).optional(),
    })
    .optional(),
});
export type RunRecord = z.infer<typeof runSchema>;

export const registrySchema = z.object({ run: runSchema, tasks: z.array(taskSchema) });
export type Registry = z.infer<typeof registrySchema>;

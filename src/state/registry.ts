import * as z from '../util/zod.js';
import type { ProcessIdentity } from '../process/process-info.js';
import { ATTEMPT_KINDS, ATTEMPT_OUTCOMES, FAILURE_KINDS, MERGE_STATUSES, RUN_STATUSES, TASK_STATUSES } from '../domain/vocabulary.js';
import type { WaitReason } from '../domain/waiting.js';

const isoTime = z.string();

const int = () => z.number().check(z.int());

const processIdentity = z.object({ pid: int(), startTime: z.string() }) satisfies z.ZodMiniType<ProcessIdentity>;

export const waitReasonSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('dependency'), on: z.array(z.string()) }),
  z.object({ kind: z.literal('retry'), at: isoTime }),
  z.object({ kind: z.literal('conflict'), with: z.string(), files: z.array(z.string()) }),
  z.object({ kind: z.literal('limit'), limit: int(), reason: z.string() }),
  z.object({ kind: z.literal('api-pause'), until: isoTime }),
  z.object({ kind: z.literal('usage-limit'), until: isoTime, limitType: z.optional(z.string()), stopped: z.boolean() }),
  z.object({ kind: z.literal('budget'), maxCostUsd: z.number(), costUsd: z.number() }),
  z.object({ kind: z.literal('stopping') }),
  z.object({ kind: z.literal('ready') }),
]) satisfies z.ZodMiniType<WaitReason>;
const refChangeSchema = z.object({
  ref: z.string(),
  action: z.enum(['created', 'moved', 'deleted', 'switched']),
  before: z.optional(z.string()),
  after: z.optional(z.string()),
  suspects: z.optional(z.array(z.string())),
});

const attemptSchema = z.object({
  number: int().check(z.minimum(1)),
  kind: z.enum(ATTEMPT_KINDS),
  startedAt: isoTime,
  finishedAt: z.optional(isoTime),
  /** Paths relative to the run folder. */
  log: z.string(),
  stderr: z.string(),
  prompt: z.string(),
  pid: z.optional(int()),
  exitCode: z.optional(z.nullable(int())),
  signal: z.optional(z.nullable(z.string())),
  outcome: z.optional(z.enum(ATTEMPT_OUTCOMES)),
  reason: z.optional(z.string()),
  /** True when another agent ran at the same time: only such failures trigger the sequential fallback. */
  parallel: z._default(z.boolean(), false),
  /** This attempt's turns and cost (the task's figures are their sums). */
  turns: z.optional(int()),
  costUsd: z.optional(z.number()),
  /** The job that carries the attempt to the workers (`run --workers`): resume finds it again by this id. */
  job: z.optional(z.object({ id: z.string(), queue: z.string() })),
  /** The worker running it (the last one, when its job moved after a worker was lost). */
  worker: z.optional(z.object({ id: z.string(), name: z.string(), host: z.string() })),
  /** How many times its job moved to another worker. */
  moves: z.optional(int()),
  /** Refs other than the task's branch that this attempt's agent changed, put back by the refs guard. */
  refsRestored: z.optional(z.array(refChangeSchema)),
  /** What the refs guard could not put back or check. */
  refsProblems: z.optional(z.array(z.string())),
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
  order: int(),
  timeoutMs: z.optional(z.number()),
  maxTurns: z.optional(int()),
  model: z.optional(z.string()),

  status: z.enum(TASK_STATUSES),
  reason: z.optional(z.string()),
  failure: z.optional(z.enum(FAILURE_KINDS)),
  worktree: z.string(),
  branch: z.string(),
  /** Agent starts so far (every kind); `retriesUsed` counts the ones spent on failures. */
  attempts: int().check(z.minimum(0)),
  retriesUsed: z._default(int().check(z.minimum(0)), 0),
  apiRequeues: z._default(int().check(z.minimum(0)), 0),
  attemptLog: z.array(attemptSchema),
  /** Why a pending task is not running now (the engine's latest reading). */
  waiting: z.optional(waitReasonSchema),
  /** When a failed task may be retried (backoff). */
  retryAt: z.optional(isoTime),
  /** How the task's next attempt starts, when it is not a first attempt. */
  next: z.optional(z.object({ kind: z.enum(ATTEMPT_KINDS), note: z.optional(z.string()), resumeSessionId: z.optional(z.string()) })),

  /** The agent process; orch starts it as its own process-group leader, so this pid is also its group id. */
  agent: z.optional(processIdentity),
  startedAt: z.optional(isoTime),
  finishedAt: z.optional(isoTime),
  heartbeatAt: z.optional(isoTime),
  lastActivity: z.optional(z.string()),
  lastActivityAt: z.optional(isoTime),
  exitCode: z.optional(z.nullable(int())),
  signal: z.optional(z.nullable(z.string())),

  sessionId: z.optional(z.string()),
  /** Sums over the attempts. */
  turns: z.optional(int()),
  costUsd: z.optional(z.number()),
  agentMs: z.optional(z.number()),
  permissionDenials: z._default(z.array(z.string()), []),
  commits: z._default(z.array(commitSchema), []),

  skippedBecause: z.optional(z.string()),
  failedInParallel: z.optional(z.boolean()),
  succeededInFallback: z.optional(z.boolean()),

  /** Set once dependency merges, copies and setup have all completed in the task's worktree. */
  worktreeReady: z.optional(z.boolean()),
  ports: z.optional(z.array(int())),
  copiedFiles: z.optional(z.array(z.string())),
  setupMs: z.optional(z.number()),
  /** Setup did not run: it had completed in this worktree before, and its `worktree.setupKey` files are unchanged. */
  setupSkipped: z.optional(z.boolean()),
  /** The worktree was taken from the warm pool (switched to the task's branch, ignored files kept). */
  worktreeFromPool: z.optional(z.boolean()),

  /**
   * Tasks it conflicts with that had succeeded when its branch was made: their branches were
   * merged into it first, so their edits and its own are sequential, not conflicting.
   */
  builtOn: z.optional(z.array(z.string())),
  /** The commit its branch started from when that was not the run's base (the integration branch's head, with `run --merge`). */
  startSha: z.optional(z.string()),
  /** Its place in the merge queue (`orch merge`, `run --merge`). */
  merge: z.optional(
    z.object({
      status: z.enum(MERGE_STATUSES),
      /** The commit that integrated it (once it is on the integration branch). */
      commit: z.optional(z.string()),
      conflictFiles: z.optional(z.array(z.string())),
      reason: z.optional(z.string()),
      check: z.optional(
        z.object({
          exitCode: z.nullable(int()),
          signal: z.nullable(z.string()),
          timedOut: z.boolean(),
          durationMs: z.number(),
          /** Relative to the run folder: the check's output. */
          log: z.string(),
        }),
      ),
      /** The agent that resolved (or tried to resolve) a conflict. */
      resolution: z.optional(
        z.object({
          startedAt: isoTime,
          finishedAt: z.optional(isoTime),
          log: z.string(),
          stderr: z.string(),
          prompt: z.string(),
          agent: z.optional(processIdentity),
          outcome: z.optional(z.enum(['resolved', 'failed', 'interrupted'])),
          reason: z.optional(z.string()),
          turns: z.optional(int()),
          costUsd: z.optional(z.number()),
          sessionId: z.optional(z.string()),
        }),
      ),
    }),
  ),
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
  baseBranch: z.optional(z.string()),
  promptFiles: z.array(z.string()),
  worktreeRoot: z.string(),
  /** The effective config the run started with (resume uses it again). */
  config: z.record(z.string(), z.unknown()),
  conflicts: z.array(z.object({ a: z.string(), b: z.string(), files: z.array(z.string()) })),
  orchestrator: z.extend(processIdentity, { host: z.string() }),
  /** Every orchestrator session: the first run and each resume. */
  sessions: z.array(
    z.object({
      pid: int(),
      startedAt: isoTime,
      /** The last heartbeat of this session's orchestrator: where a session killed with kill -9 ended. */
      lastAliveAt: z.optional(isoTime),
      finishedAt: z.optional(isoTime),
    }),
  ),
  startedAt: isoTime,
  heartbeatAt: isoTime,
  finishedAt: z.optional(isoTime),
  status: z.enum(RUN_STATUSES),
  reason: z.optional(z.string()),
  exitCode: z.optional(int()),
  mode: z.enum(['parallel', 'sequential']),
  modeReason: z.optional(z.string()),
  limit: z.object({ value: int(), reason: z.string() }),
  apiPausedUntil: z.optional(isoTime),
  /**
   * A plan's usage limit: new starts paused until its reset (`pausedUntil`), or, after a warning,
   * no more agents than `cap` until `capUntil`.
   */
  usageLimit: z.optional(
    z.object({
      pausedUntil: z.optional(isoTime),
      limitType: z.optional(z.string()),
      cap: z.optional(int()),
      capUntil: z.optional(isoTime),
    }),
  ),
  /** The run stopped admitting tasks on purpose (a usage limit beyond --max-wait, the budget); cleared on resume. */
  halted: z.optional(z.object({ kind: z.enum(['usage-limit', 'budget']), message: z.string() })),
  detached: z.optional(z.boolean()),
  /** Where a run with `--workers` sends its attempts; the URL is stored without its password. */
  workers: z.optional(
    z.object({
      url: z.string(),
      /** The remote the code travels through, as workers see it (no credentials). */
      remote: z.string(),
      queue: z.string(),
    }),
  ),
  /** Whether this session's agents run in Claude Code's sandbox, and the line that says so. */
  sandbox: z.optional(z.object({ enabled: z.boolean(), summary: z.string() })),
  /** The merge queue's integration branch and worktree, once one was made. */
  merge: z.optional(
    z.object({
      branch: z.string(),
      worktree: z.string(),
      /** Where the integration branch started: the run's base. */
      startSha: z.string(),
      /** Merge sessions: `orch merge`, or the run itself with `--merge`. */
      status: z.enum(['running', 'finished', 'interrupted', 'aborted']),
      startedAt: isoTime,
      finishedAt: z.optional(isoTime),
      exitCode: z.optional(int()),
      /** The orchestrator of an `orch merge` session (a run with --merge is its own). */
      orchestrator: z.optional(processIdentity),
      /** The check running now (a merge killed meanwhile stops it when it reopens). */
      checkProcess: z.optional(processIdentity),
      /** Set up like a task worktree (copies, setup commands) once. */
      worktreeReady: z.optional(z.boolean()),
      copiedFiles: z.optional(z.array(z.string())),
    }),
  ),
});
export type RunRecord = z.infer<typeof runSchema>;

export const registrySchema = z.object({ run: runSchema, tasks: z.array(taskSchema) });
export type Registry = z.infer<typeof registrySchema>;

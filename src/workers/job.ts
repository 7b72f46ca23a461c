import { z } from 'zod';
import { PERMISSION_MODES } from '../config/schema.js';
import { ATTEMPT_KINDS, FAILURE_KINDS } from '../domain/vocabulary.js';
import type { AttemptResult } from '../executor/types.js';
import { INTEGRATION, RUN_ID_PATTERN } from '../state/paths.js';
import { sanitizeId } from '../prompt/id.js';

/** Bumped when a job's shape changes: a worker refuses jobs of another version, saying which. */
export const JOB_VERSION = 1;

/** A task id as orch makes them: ids end up in paths and branch names on the worker. */
const taskId = z
  .string()
  .min(1)
  .max(80)
  .refine((id) => sanitizeId(id) === id && id !== INTEGRATION, { message: 'is not a task id orch makes' });

const sha = z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/, 'is not a commit id');
const text = (max: number) => z.string().max(max);

/**
 * One attempt, as the coordinator queues it for a worker. Plain data: ids, the task's text,
 * the commits to start from and the run's agent settings. Paths are not in it (the worker makes
 * its own from the ids), nor is which program to run (each worker runs its own `claude`), nor any
 * credential (the remote's are stripped; agents use the worker machine's own login).
 */
export const jobPayloadSchema = z.strictObject({
  version: z.literal(JOB_VERSION),
  runId: z.string().regex(RUN_ID_PATTERN, 'is not a run id orch makes'),
  /** The remote the code travels through, without credentials. */
  remote: text(4096).min(1),
  /** The coordinator's host name, for messages. */
  coordinator: text(256),
  task: z.strictObject({
    id: taskId,
    title: text(1000),
    text: text(2_000_000),
    files: z.array(text(4096)).max(10_000),
    timeoutMs: z.number().int().positive(),
    model: text(200).min(1).optional(),
    maxTurns: z.number().int().positive().optional(),
  }),
  attempt: z.strictObject({ number: z.number().int().min(1).max(10_000), kind: z.enum(ATTEMPT_KINDS) }),
  base: z.strictObject({ ref: text(1000), sha }),
  /** The task branch's head when an earlier attempt left one: the attempt continues from it. */
  continues: sha.optional(),
  /** Branches merged in first, at the heads the coordinator has (their workers pushed them). */
  mergeFirst: z.array(z.strictObject({ taskId, title: text(1000), relation: z.enum(['dependency', 'conflict']), head: sha })).max(10_000),
  note: text(200_000).optional(),
  settings: z.strictObject({
    permissionMode: z.enum(PERMISSION_MODES),
    allowedTools: z.array(text(2000)).max(2000),
    appendSystemPrompt: text(200_000).nullable(),
    maxBudgetUsd: z.number().positive().nullable(),
    extraArgs: z.array(text(10_000)).max(200),
    inactivityMs: z.number().int().positive(),
    killGraceMs: z.number().int().min(0),
    setup: z.array(text(10_000)).max(100),
    ports: z.number().int().min(0).max(100),
    include: z.array(text(4096)).max(2000),
    /** agent.sandbox: each worker decides on its own machine ("auto"), or refuses the attempt (true) when it cannot. */
    sandbox: z.union([z.literal('auto'), z.boolean()]),
    sandboxNetwork: z.array(text(1000)).max(1000),
    disallowedTools: z.array(text(2000)).max(2000),
  }),
});
export type JobPayload = z.infer<typeof jobPayloadSchema>;

/** What a worker says about itself in a job's progress and result. */
export const workerTagSchema = z.strictObject({ id: text(300), name: text(300), host: text(300) });
export type WorkerTag = z.infer<typeof workerTagSchema>;

const outcomeSchema = z.discriminatedUnion('status', [
  z.object({ status: z.literal('succeeded'), reason: z.string().optional() }),
  z.object({
    status: z.literal('failed'),
    failure: z.enum(FAILURE_KINDS),
    reason: z.string(),
    apiStatus: z.number().int().optional(),
    resetsAt: z.number().optional(),
  }),
  z.object({ status: z.literal('interrupted'), reason: z.string() }),
]);

export const attemptResultSchema = z.object({
  outcome: outcomeSchema,
  spawnError: z.string().optional(),
  exit: z.object({ exitCode: z.number().int().nullable(), signal: z.string().nullable() }).optional(),
  turns: z.number().int().optional(),
  costUsd: z.number().optional(),
  sessionId: z.string().optional(),
  permissionDenials: z.array(z.string()).optional(),
  commits: z.array(z.object({ sha: z.string(), subject: z.string() })).optional(),
}) satisfies z.ZodType<AttemptResult>;

/** A finished job: the attempt's result, who ran it, and the branch it pushed (if it pushed one). */
export const jobResultSchema = z.object({
  version: z.literal(JOB_VERSION),
  worker: workerTagSchema,
  result: attemptResultSchema,
  /** The task branch's head as pushed to `refs/orch/<run>/tasks/<task>`; absent when nothing was pushed. */
  pushed: sha.optional(),
});
export type JobResult = z.infer<typeof jobResultSchema>;

/** What a worker reports while a job runs (the progress of the BullMQ job). */
export const jobProgressSchema = z.discriminatedUnion('kind', [
  /** The job started on this worker (again, on another worker, after its first one was lost). */
  z.object({ kind: z.literal('worker'), worker: workerTagSchema }),
  z.object({ kind: z.literal('ports'), ports: z.array(z.number().int()) }),
  z.object({
    kind: z.literal('prepared'),
    ready: z.boolean(),
    copiedFiles: z.array(z.string()),
    setupMs: z.number().optional(),
    setupSkipped: z.boolean().optional(),
    fromPool: z.boolean().optional(),
  }),
  z.object({ kind: z.literal('session'), sessionId: z.string() }),
  z.object({ kind: z.literal('activity'), activity: z.string(), turns: z.number().int() }),
  z.object({ kind: z.literal('api-retry'), status: z.number().int(), retryDelayMs: z.number().optional() }),
  z.object({ kind: z.literal('warning'), message: z.string() }),
  z.object({
    kind: z.literal('usage-limit'),
    status: z.enum(['rejected', 'allowed_warning']),
    resetsAt: z.number().optional(),
    limitType: z.string().optional(),
  }),
]);
export type JobProgress = z.infer<typeof jobProgressSchema>;

/** The first problem with a value that should be a job payload, as one line (for the worker's log and the job's failure). */
export function payloadProblem(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid job';
  const where = issue.path.length > 0 ? issue.path.join('.') : 'the job';
  return `${where} ${issue.message.replace(/^Invalid input: /, '')}`;
}

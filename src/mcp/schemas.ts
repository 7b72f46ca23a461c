import { z } from 'zod';
import { RUN_STATUSES, TASK_STATUSES } from '../domain/vocabulary.js';

/**
 * What the MCP tools take and give. Argument names are part of the interface (clients and docs
 * rely on them): `files`, `run_id`, `task`, `timeout_seconds`, `tasks`, `dir`, `overwrite`.
 * Inputs are strict: an unknown argument (a misspelt `runId`, say) is an error, never ignored.
 */

/** How long one `wait` call may block, at most: well below the tool-call timeouts of MCP clients. */
export const WAIT_CAP_SECONDS = 120;
/** `wait`'s slice when none is given: below the 60 s request timeout of the SDK's own client. */
export const WAIT_DEFAULT_SECONDS = 50;
export const LOG_LINES_DEFAULT = 100;

const files = z
  .array(z.string().min(1, 'a file, glob or directory may not be empty'), {
    error: 'files must be a list of prompt files, globs or directories',
  })
  .min(1, 'files must name at least one prompt file, glob or directory')
  .describe('Prompt files, globs (prompts/*.md) or directories of .md files, relative to the repository the server runs in.');

const runId = z.string().min(1).optional().describe('The run id (as `run` returned it); default: the latest run.');

const MAX_PARALLEL = 'max_parallel must be a whole number of agents (1 or more) or "auto"';
const maxParallel = z
  .union([z.number().int(MAX_PARALLEL).min(1, MAX_PARALLEL), z.literal('auto')], { error: MAX_PARALLEL })
  .optional()
  .describe('At most this many agents at once, or "auto" (default: as many as the machine can take).');

const TIMEOUT = 'timeout must be a duration such as "30m" or a number of seconds';
const timeout = z
  .union([z.string().min(1, TIMEOUT), z.number().positive(TIMEOUT)], { error: TIMEOUT })
  .optional()
  .describe('Per-task time limit: "30m", "2h", or seconds (default 60m).');

const model = z.string().min(1).optional().describe("The model for every agent (a prompt's own `model` wins).");

const MAX_COST = 'max_cost must be a positive amount of US dollars, such as 5 or 2.5';
const maxCost = z
  .number({ error: MAX_COST })
  .positive(MAX_COST)
  .optional()
  .describe('The run budget in US dollars: no task starts once the agents have cost this much (the run ends paused, exit 75).');

const MAX_WAIT = 'max_wait must be a duration such as "2h" or a number of seconds';
const maxWait = z
  .union([z.string().min(1, MAX_WAIT), z.number().positive(MAX_WAIT)], { error: MAX_WAIT })
  .optional()
  .describe('Wait at most this long for a usage limit to reset ("2h", or seconds); a later reset ends the run paused (exit 75).');

export const addTasksInput = z.strictObject({
  tasks: z
    .array(
      z.strictObject({
        id: z.string().describe("The task id: letters, digits, '.', '_' and '-'; also the prompt file's name and part of the branch name."),
        title: z.string().describe('One line.'),
        prompt: z.string().describe('What the agent is to do, in markdown: the goal, how to know it is done.'),
        depends_on: z.array(z.string()).optional().describe('Ids of tasks that must succeed first (their work is merged into this one).'),
        files: z.array(z.string()).optional().describe('Paths or globs the task will touch: tasks sharing files never run at once.'),
      }),
      { error: 'tasks must be a list of {id, title, prompt, depends_on?, files?}' },
    )
    .min(1, 'tasks must hold at least one task'),
  dir: z.string().min(1).optional().describe('Where the prompt files go (default prompts/).'),
  overwrite: z.boolean().optional().describe('Replace the prompt file of a task id that exists already (default: refuse).'),
});

export const addTasksOutput = z.object({
  dir: z.string(),
  paths: z.array(z.string()),
  tasks: z.array(z.object({ id: z.string(), path: z.string(), action: z.enum(['wrote', 'overwrote']) })),
});

export const planInput = z.strictObject({ files });

export const planOutput = z.looseObject({
  sandbox: z.object({ enabled: z.boolean(), summary: z.string() }),
  tasks: z.array(z.looseObject({ id: z.string(), title: z.string(), file: z.string(), dependsOn: z.array(z.string()) })),
  conflicts: z.array(z.looseObject({ a: z.string(), b: z.string(), files: z.array(z.string()) })),
  waves: z.array(z.array(z.string())),
  warnings: z.array(z.string()),
});

export const runInput = z.strictObject({
  files,
  base: z.string().min(1).optional().describe('Branch or commit the task branches start from (default HEAD).'),
  max_parallel: maxParallel,
  merge: z.boolean().optional().describe('Integrate each task into orch/<run-id>/integration as soon as it succeeds.'),
  check: z
    .string()
    .min(1)
    .optional()
    .describe('With merge: a command run on the integration branch after merges (a failure undoes the merge).'),
  timeout,
  model,
  max_cost: maxCost,
  max_wait: maxWait,
});

/** A detached orch process that owns the run (as `orch run --detach --json` prints it). */
export const detachedOutput = z.object({ runId: z.string(), pid: z.number().int(), log: z.string() });

export const runIdInput = z.strictObject({ run_id: runId });

export const statusOutput = z.looseObject({
  run: z.looseObject({ id: z.string(), status: z.enum(RUN_STATUSES), liveness: z.string() }),
  tasks: z.array(z.looseObject({ id: z.string(), status: z.enum(TASK_STATUSES), branch: z.string() })),
});

export const waitInput = z.strictObject({
  run_id: runId,
  timeout_seconds: z
    .number({ error: 'timeout_seconds must be a number of seconds' })
    .min(0, 'timeout_seconds may not be negative')
    .optional()
    .describe(`Return after at most this many seconds (default ${WAIT_DEFAULT_SECONDS}, at most ${WAIT_CAP_SECONDS}).`),
});

export const waitOutput = statusOutput.extend({ done: z.boolean() });

export const logsInput = z.strictObject({
  task: z.string().min(1, 'task must name a task id').describe('The task id.'),
  run_id: runId,
  lines: z.number().int().min(1).optional().describe(`How many of the last lines to return (default ${LOG_LINES_DEFAULT}).`),
  attempt: z.number().int().min(1).optional().describe('Which attempt (default: the latest).'),
});

export const logsOutput = z.object({ runId: z.string(), task: z.string(), totalLines: z.number().int(), text: z.string() });

export const mergeInput = z.strictObject({
  run_id: runId,
  check: z
    .string()
    .min(1)
    .optional()
    .describe('Run this on the integration branch after merges (through the shell); a failure undoes the merge.'),
  check_every: z.number().int().min(1).optional().describe('Check after every n merges, bisecting a failure (default 1).'),
  squash: z.boolean().optional().describe('One plain commit per task instead of a merge commit.'),
  resolve: z.boolean().optional().describe('Let an agent resolve conflicts.'),
  into: z.string().min(1).optional().describe('At the end, fast-forward this branch to the integration branch (never forced).'),
});

export const resumeInput = z.strictObject({
  run_id: runId,
  max_parallel: maxParallel,
  timeout,
  model,
  max_cost: maxCost,
  max_wait: maxWait,
  retry_failed: z.boolean().optional().describe('Also re-run failed tasks, and the dependents their failure skipped.'),
});

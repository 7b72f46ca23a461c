import { stripVTControlCharacters } from 'node:util';
import type { McpServer, ToolCallback } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import type { RunFlagOptions } from '../cli/run-flags.js';
import type { StatusView } from '../commands/status.js';
import type { FlagOverride } from '../config/load.js';
import { UserError, errorMessage } from '../errors.js';
import {
  LOG_LINES_DEFAULT,
  WAIT_CAP_SECONDS,
  WAIT_DEFAULT_SECONDS,
  addTasksInput,
  addTasksOutput,
  detachedOutput,
  logsInput,
  logsOutput,
  mergeInput,
  planInput,
  planOutput,
  resumeInput,
  runIdInput,
  runInput,
  statusOutput,
  waitInput,
  waitOutput,
} from './schemas.js';

/** Where the server works, and where its own diagnostics go (stderr: stdout is the protocol's). */
export interface McpContext {
  cwd: string;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
}

/** How long `cancel` waits for the run's orch process to stop (it stops its agents within the kill grace period). */
const CANCEL_TIMEOUT_MS = 60_000;

type JsonObject = Record<string, unknown>;

/** Exactly what the CLI would print as JSON (undefined fields dropped). */
function asJson(value: object): JsonObject {
  return JSON.parse(JSON.stringify(value)) as JsonObject;
}

function toolError(tool: string, error: unknown, context: McpContext): CallToolResult {
  if (error instanceof UserError) return { isError: true, content: [{ type: 'text', text: error.message }] };
  // A bug in orch: its stack goes to the server's log, the one line to the client.
  context.log(`orch mcp: ${tool}: internal error: ${error instanceof Error && error.stack ? error.stack : errorMessage(error)}`);
  return { isError: true, content: [{ type: 'text', text: `internal error: ${errorMessage(error)}` }] };
}

interface ToolSpec<In extends z.ZodType, Out extends z.ZodObject> {
  title: string;
  description: string;
  input: In;
  output: Out;
  readOnly?: boolean;
}

/** One tool: its schemas, and its work, whose result is the structured content (and, as JSON, the text). */
function register<In extends z.ZodType, Out extends z.ZodObject>(
  server: McpServer,
  context: McpContext,
  name: string,
  spec: ToolSpec<In, Out>,
  work: (args: z.output<In>, signal: AbortSignal) => Promise<object>,
): void {
  // The SDK checks the arguments against `input` before this runs, and the result against `output` after.
  const handler = async (args: z.output<In>, extra: { signal: AbortSignal }): Promise<CallToolResult> => {
    try {
      const value = asJson(await work(args, extra.signal));
      return { content: [{ type: 'text', text: JSON.stringify(value) }], structuredContent: value };
    } catch (error) {
      return toolError(name, error, context);
    }
  };
  server.registerTool(
    name,
    {
      title: spec.title,
      description: spec.description,
      inputSchema: spec.input,
      outputSchema: spec.output,
      annotations: { readOnlyHint: spec.readOnly === true, openWorldHint: false },
    },
    handler as ToolCallback<In>,
  );
}

/** A file argument that begins with "-" must not read as an option when the command line is run again. */
const fileArg = (file: string): string => (file.startsWith('-') ? `./${file}` : file);

/** The run options as `orch run`/`orch resume` flags: for the foreground checks and for the background command line alike. */
function runOptions(args: {
  max_parallel?: number | 'auto' | undefined;
  timeout?: string | number | undefined;
  model?: string | undefined;
  max_cost?: number | undefined;
  max_wait?: string | number | undefined;
}) {
  const options: RunFlagOptions = {};
  const argv: string[] = [];
  if (args.max_parallel !== undefined) {
    options.maxParallel = String(args.max_parallel);
    argv.push('--max-parallel', options.maxParallel);
  }
  if (args.timeout !== undefined) {
    options.timeout = String(args.timeout);
    argv.push('--timeout', options.timeout);
  }
  if (args.model !== undefined) {
    options.model = args.model;
    argv.push('--model', args.model);
  }
  if (args.max_cost !== undefined) {
    options.maxCost = String(args.max_cost);
    argv.push('--max-cost', options.maxCost);
  }
  if (args.max_wait !== undefined) {
    options.maxWait = String(args.max_wait);
    argv.push('--max-wait', options.maxWait);
  }
  return { options, argv };
}

/**
 * The core modules, loaded on a tool's first call rather than at start: Claude Code does not
 * wait for MCP servers in -p mode, so a server that answers fast is there for the first turn.
 */
const core = {
  addTasks: () => import('../commands/add-tasks.js'),
  analysis: () => import('../commands/analysis.js'),
  planSchedule: () => import('../commands/plan-schedule.js'),
  cancel: () => import('../commands/cancel.js'),
  detach: () => import('../commands/detach.js'),
  flags: () => Promise.all([import('../cli/run-flags.js'), import('../cli/commands/merge.js')]),
  logs: () => Promise.all([import('../commands/logs.js'), import('../render/transcript.js'), import('../state/runs.js')]),
  plan: () => import('../render/plan.js'),
  repo: () => import('../worktree/repo.js'),
  status: () => import('../commands/status.js'),
  wait: () => import('../commands/wait.js'),
};

async function repoRoot(context: McpContext): Promise<string> {
  return (await core.repo()).requireRepoRoot(context.cwd);
}

async function statusOf(context: McpContext, runId: string | undefined): Promise<StatusView> {
  return (await core.status()).loadStatus(await repoRoot(context), runId, context.env);
}

export function registerTools(server: McpServer, context: McpContext): void {
  const { cwd, env } = context;

  register(
    server,
    context,
    'add_tasks',
    {
      title: 'Queue tasks as prompt files',
      description:
        'Write one prompt file per task (default under prompts/), in the format orch plan and orch run read. State every task explicitly: ' +
        'what to do, the files it touches, the tasks it depends on. Refuses an id that exists already unless overwrite. Returns the paths, ' +
        'ready to pass as `files` to plan and run.',
      input: addTasksInput,
      output: addTasksOutput,
    },
    async (args) => {
      const added = await (
        await core.addTasks()
      ).addTasks({
        cwd,
        dir: args.dir,
        overwrite: args.overwrite,
        tasks: args.tasks.map((task) => ({
          id: task.id,
          title: task.title,
          prompt: task.prompt,
          dependsOn: task.depends_on,
          files: task.files,
        })),
      });
      return { dir: added.dir, paths: added.tasks.map((task) => task.path), tasks: added.tasks };
    },
  );

  register(
    server,
    context,
    'plan',
    {
      title: 'Plan a run',
      description:
        'What orch would do with these prompt files, without running anything (orch plan --json): the tasks with their dependencies and ' +
        'files, the pairs that touch the same files, the waves, the critical path and the expected length of the run. Errors (a cycle, an unknown dependency, a missing file) come back as tool errors.',
      input: planInput,
      output: planOutput,
      readOnly: true,
    },
    async (args) => {
      const [{ loadAnalysis, planSandbox }, { loadPlanSchedule }, { planToJson }] = await Promise.all([
        core.analysis(),
        core.planSchedule(),
        core.plan(),
      ]);
      const analysis = await loadAnalysis(args.files, cwd);
      return planToJson(analysis, await planSandbox(cwd, context.env), await loadPlanSchedule(analysis, cwd, context.env));
    },
  );

  register(
    server,
    context,
    'run',
    {
      title: 'Start a run',
      description:
        'Start a run of these prompt files in the background (orch run --detach): one Claude Code agent per task, each in its own git ' +
        'worktree and branch orch/<run-id>/<task>. Returns the run id at once; follow it with wait and status.',
      input: runInput,
      output: detachedOutput,
    },
    async (args) => {
      const { options, argv } = runOptions(args);
      if (args.base !== undefined) {
        options.base = args.base;
        argv.push('--base', args.base);
      }
      const merge = { check: args.check };
      if (args.check !== undefined) argv.push('--check', args.check);
      const [[{ flagOverrides }, { mergeOverrides }], { startDetached }] = await Promise.all([core.flags(), core.detach()]);
      const flags: FlagOverride[] = [...flagOverrides(options), ...mergeOverrides(merge)];
      if (args.merge) {
        flags.push({ key: 'merge.enabled', value: true, flag: '--merge' });
        argv.push('--merge');
      }
      return startDetached({ cwd, env, prompts: args.files, flags, detached: false }, ['run', ...args.files.map(fileArg), ...argv]);
    },
  );

  register(
    server,
    context,
    'status',
    {
      title: 'Show a run',
      description:
        "A run's state (default: the latest run), as orch status --json gives it: {run, tasks}. Every task has its status, branch, " +
        'commits, turns, costUsd, reason (why it failed or was skipped) and merge (its place in the merge queue).',
      input: runIdInput,
      output: statusOutput,
      readOnly: true,
    },
    async (args) => statusOf(context, args.run_id),
  );

  register(
    server,
    context,
    'wait',
    {
      title: 'Wait for a run',
      description:
        `Wait until a run (default: the latest) has ended, and any merge of it, for at most timeout_seconds (default ` +
        `${WAIT_DEFAULT_SECONDS}, at most ${WAIT_CAP_SECONDS}). Returns the status (as the status tool) plus done: false means it is ` +
        'still going: call wait again. done: true with run.liveness "stale" means its orchestrator is gone (resume finishes it); ' +
        'with run.merge.status still "running", the orch merge is gone (merge continues it).',
      input: waitInput,
      output: waitOutput,
      readOnly: true,
    },
    async (args, signal) => {
      const [{ waitForRun }, { liveView }] = await Promise.all([core.wait(), core.status()]);
      const seconds = Math.min(args.timeout_seconds ?? WAIT_DEFAULT_SECONDS, WAIT_CAP_SECONDS);
      const result = await waitForRun(await repoRoot(context), args.run_id, seconds * 1000, { signal });
      return { ...(await liveView(result.registry, env)), done: result.kind !== 'timeout' };
    },
  );

  register(
    server,
    context,
    'logs',
    {
      title: "Read a task's transcript",
      description:
        "The last lines of a task's agent transcript, rendered as orch logs does: its words, its tool calls (→), their results (←), " +
        'API retries and the final result with turns and cost.',
      input: logsInput,
      output: logsOutput,
      readOnly: true,
    },
    async (args) => {
      const [{ streamLogs }, { renderLogEntry }, { loadRun }] = await core.logs();
      const root = await repoRoot(context);
      const runId = (await loadRun(root, args.run_id)).registry.run.id;
      const lines: string[] = [];
      await streamLogs(root, args.task, { runId, attempt: args.attempt, follow: false, raw: false }, (entry) => {
        const text = renderLogEntry(entry);
        if (text !== undefined) lines.push(...stripVTControlCharacters(text).split('\n'));
      });
      return { runId, task: args.task, totalLines: lines.length, text: lines.slice(-(args.lines ?? LOG_LINES_DEFAULT)).join('\n') };
    },
  );

  register(
    server,
    context,
    'merge',
    {
      title: 'Land the work',
      description:
        "Integrate a finished run's succeeded tasks (default: the latest run) into one branch, orch/<run-id>/integration, in the " +
        'background (orch merge --detach): one merge commit per task, conflicts and failed checks recorded per task. Returns at once; ' +
        "follow it with wait and status (each task's merge field). With into, that branch is fast-forwarded at the end.",
      input: mergeInput,
      output: detachedOutput,
    },
    async (args) => {
      const options = {
        check: args.check,
        checkEvery: args.check_every === undefined ? undefined : String(args.check_every),
        squash: args.squash,
        resolve: args.resolve,
        into: args.into,
      };
      const argv: string[] = ['merge'];
      if (options.check !== undefined) argv.push('--check', options.check);
      if (options.checkEvery !== undefined) argv.push('--check-every', options.checkEvery);
      if (options.squash) argv.push('--squash');
      if (options.resolve) argv.push('--resolve');
      if (options.into !== undefined) argv.push('--into', options.into);
      const [[, { mergeOverrides }], { mergeDetached }] = await Promise.all([core.flags(), core.detach()]);
      return mergeDetached({ cwd, env, runId: args.run_id, flags: mergeOverrides(options) }, argv);
    },
  );

  register(
    server,
    context,
    'cancel',
    {
      title: 'Stop a run',
      description:
        'Interrupt a run (default: the latest) as Ctrl-C would: its orch process gets SIGINT, stops its agents and records them as ' +
        `interrupted. Returns the status once it has stopped (at most ${CANCEL_TIMEOUT_MS / 1000} s). Also stops a merge under way.`,
      input: runIdInput,
      output: statusOutput,
    },
    async (args) => {
      const [{ cancelRun }, { liveView }] = await Promise.all([core.cancel(), core.status()]);
      const { registry } = await cancelRun(await repoRoot(context), args.run_id, CANCEL_TIMEOUT_MS);
      return liveView(registry, env);
    },
  );

  register(
    server,
    context,
    'resume',
    {
      title: 'Resume a run',
      description:
        'Finish a stopped run (default: the latest) in the background (orch resume --detach): agents still running are adopted, ' +
        'interrupted tasks run again in their worktrees, pending ones start. Returns at once; follow it with wait and status.',
      input: resumeInput,
      output: detachedOutput,
    },
    async (args) => {
      const { options, argv } = runOptions(args);
      if (args.retry_failed) argv.push('--retry-failed');
      const [[{ flagOverrides }], { resumeDetached }] = await Promise.all([core.flags(), core.detach()]);
      return resumeDetached({ cwd, env, runId: args.run_id, flags: flagOverrides(options), retryFailed: args.retry_failed === true }, [
        'resume',
        ...argv,
      ]);
    },
  );
}

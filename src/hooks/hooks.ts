import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { OrchConfig } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import type { RunSummary } from '../events.js';
import { ProcessGroup } from '../process/process-group.js';
import type { RunRecord, TaskRecord } from '../state/registry.js';
import { formatDuration } from '../util/duration.js';

/** What a hook reads on its stdin when a task ends. */
export interface TaskEndPayload {
  event: 'task-end';
  runId: string;
  repoRoot: string;
  taskId: string;
  title: string;
  status: TaskRecord['status'];
  reason: string | null;
  branch: string;
  worktree: string;
  commits: number;
  attempts: number;
  turns: number | null;
  costUsd: number | null;
}

/** What a hook reads on its stdin when the run ends. */
export interface RunEndPayload {
  event: 'run-end';
  runId: string;
  repoRoot: string;
  status: RunRecord['status'];
  exitCode: number;
  reason: string | null;
  costUsd: number;
  wallMs: number;
  counts: RunSummary['counts'];
  tasks: Array<{ id: string; status: string; branch: string; commits: number; costUsd: number | null; reason: string | null }>;
}

export type HookPayload = TaskEndPayload | RunEndPayload;

/**
 * Runs the user's notification hooks. Resolves to a one-line failure (a non-zero exit, a
 * timeout, a command that cannot start) or undefined; never rejects: a hook never changes a run.
 */
export interface HookRunner {
  run(payload: HookPayload): Promise<string | undefined>;
}

export function taskEndPayload(run: RunRecord, task: TaskRecord): TaskEndPayload {
  return {
    event: 'task-end',
    runId: run.id,
    repoRoot: run.repoRoot,
    taskId: task.id,
    title: task.title,
    status: task.status,
    reason: task.reason ?? null,
    branch: task.branch,
    worktree: task.worktree,
    commits: task.commits.length,
    attempts: task.attempts,
    turns: task.turns ?? null,
    costUsd: task.costUsd ?? null,
  };
}

export function runEndPayload(run: RunRecord, summary: RunSummary, exitCode: number): RunEndPayload {
  return {
    event: 'run-end',
    runId: run.id,
    repoRoot: run.repoRoot,
    status: run.status,
    exitCode,
    reason: run.reason ?? null,
    costUsd: summary.costUsd,
    wallMs: summary.wallMs,
    counts: summary.counts,
    tasks: summary.tasks.map((task) => ({
      id: task.id,
      status: task.status,
      branch: task.branch,
      commits: task.commits,
      costUsd: task.costUsd ?? null,
      reason: task.reason ?? null,
    })),
  };
}

/** The ORCH_ variables a hook gets, besides orch's own environment. */
function hookEnv(payload: HookPayload, base: string): Record<string, string> {
  const env: Record<string, string> = {
    ORCH_HOOK: payload.event,
    ORCH_RUN_ID: payload.runId,
    ORCH_STATUS: payload.status,
    ORCH_BASE: base,
  };
  if (payload.event === 'task-end') {
    env.ORCH_TASK_ID = payload.taskId;
    env.ORCH_BRANCH = payload.branch;
    env.ORCH_WORKTREE = payload.worktree;
    if (payload.costUsd !== null) env.ORCH_COST_USD = String(payload.costUsd);
  } else {
    env.ORCH_EXIT_CODE = String(payload.exitCode);
    env.ORCH_COST_USD = String(payload.costUsd);
  }
  if (payload.reason) env.ORCH_REASON = payload.reason;
  return env;
}

/**
 * Hooks run on this machine: each an argv list run without a shell, in the repository, in its own
 * process group, with the payload as a JSON file on its stdin (kept in the run folder's `hooks/`)
 * and its output appended to `logs/hooks.log`; stopped like an agent after `hooks.timeout`.
 */
export function localHooks(
  config: OrchConfig,
  run: { dir: string; repoRoot: string; baseRef: string },
  env: NodeJS.ProcessEnv,
): HookRunner | undefined {
  const { onTaskEnd, onRunEnd, timeout } = config.hooks;
  if (!onTaskEnd && !onRunEnd) return undefined;
  let count = 0;
  const log = path.join(run.dir, 'logs', 'hooks.log');
  return {
    async run(payload) {
      const argv = payload.event === 'task-end' ? onTaskEnd : onRunEnd;
      if (!argv) return undefined;
      const name = payload.event === 'task-end' ? `onTaskEnd for task ${payload.taskId}` : 'onRunEnd';
      count += 1;
      try {
        const input = path.join(
          run.dir,
          'hooks',
          `${count}-${payload.event}${payload.event === 'task-end' ? `-${payload.taskId}` : ''}.json`,
        );
        await mkdir(path.dirname(input), { recursive: true });
        await mkdir(path.dirname(log), { recursive: true });
        await writeFile(input, `${JSON.stringify(payload, null, 2)}\n`);
        await appendFile(log, `== ${new Date().toISOString()} ${name} (${payload.status}): ${JSON.stringify(argv)}\n`);
        const [file, ...args] = argv;
        const hook = ProcessGroup.spawn({
          file: file!,
          args,
          cwd: run.repoRoot,
          env: { ...env, ...hookEnv(payload, run.baseRef) },
          stdinFile: input,
          stdoutFile: log,
          stderrFile: log,
        });
        let timedOut = false;
        const timer = setTimeout(() => {
          timedOut = true;
          void hook.stop(config.timeouts.killGrace);
        }, timeout);
        try {
          const exit = await hook.exited;
          await hook.reapGroup(config.timeouts.killGrace);
          if (timedOut) return `hook ${name} ran past hooks.timeout (${formatDuration(timeout)}) and was stopped (see logs/hooks.log)`;
          if (exit.exitCode !== 0)
            return `hook ${name} ${exit.signal ? `was killed by ${exit.signal}` : `exited ${exit.exitCode}`} (see logs/hooks.log)`;
          return undefined;
        } finally {
          clearTimeout(timer);
        }
      } catch (error) {
        const message = `hook ${name} failed: ${errorMessage(error)}`;
        await appendFile(log, `${message}\n`).catch(() => undefined);
        return message;
      }
    },
  };
}

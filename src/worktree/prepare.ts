import path from 'node:path';
import type { Outcome } from '../agent/outcome.js';
import type { AgentProcess } from '../agent/process.js';
import type { OrchConfig } from '../config/schema.js';
import type { ProcessIdentity, RunRecord, TaskRecord } from '../state/registry.js';
import { formatDuration } from '../util/duration.js';
import { copyIncludes } from './include.js';
import { reservePorts } from './ports.js';
import { runSetup } from './setup.js';

export interface PrepareContext {
  repoRoot: string;
  run: RunRecord;
  task: TaskRecord;
  config: OrchConfig;
  env: NodeJS.ProcessEnv;
  /** True for a worktree created (or re-attached) for this attempt: copies and setup happen once per worktree. */
  fresh: boolean;
  owner: ProcessIdentity;
  setupLog: string;
  /** The run's list of untracked files to copy (computed once per run). */
  includeCandidates: () => Promise<string[]>;
  onProcess: (process: AgentProcess) => void;
  isStopped: () => boolean;
}

export type Prepared = { ok: true; env: Record<string, string>; description: string } | { ok: false; outcome: Outcome };

/** The variables every setup command and agent gets. */
export function orchEnvironment(run: RunRecord, task: TaskRecord): Record<string, string> {
  const env: Record<string, string> = {
    ORCH_RUN_ID: run.id,
    ORCH_TASK_ID: task.id,
    ORCH_WORKTREE: task.worktree,
    ORCH_BRANCH: task.branch,
    ORCH_BASE: run.baseSha,
  };
  if (task.ports && task.ports.length > 0) {
    env.ORCH_PORT = String(task.ports[0]);
    env.ORCH_PORTS = task.ports.join(',');
  }
  return env;
}

/**
 * Gets a task's worktree ready before its agent starts: reserves its ports, copies the
 * untracked files the user asked for, runs the setup commands (once per worktree). Ports are
 * reserved on `task.ports`; the caller releases them when the attempt ends.
 */
export async function prepareWorktree(context: PrepareContext): Promise<Prepared> {
  const { task, config, run } = context;
  task.ports = await reservePorts(config.worktree.ports, context.owner, run.id, task.id);
  const env = orchEnvironment(run, task);

  if (context.fresh) {
    const copied = await copyIncludes(context.repoRoot, task.worktree, await context.includeCandidates());
    task.copiedFiles = [...new Set([...(task.copiedFiles ?? []), ...copied])];
    if (config.worktree.setup.length > 0) {
      const started = Date.now();
      const setup = await runSetup(config.worktree.setup, {
        cwd: task.worktree,
        env: { ...context.env, ...env },
        logFile: context.setupLog,
        timeoutMs: task.timeoutMs ?? config.timeouts.task,
        graceMs: config.timeouts.killGrace,
        onProcess: context.onProcess,
        isStopped: context.isStopped,
      });
      task.setupMs = Date.now() - started;
      if (!setup.ok) {
        if (context.isStopped()) return { ok: false, outcome: { status: 'interrupted', reason: 'stopped during setup' } };
        const how = setup.timedOut ? 'timed out' : setup.signal ? `was killed by ${setup.signal}` : `exited ${setup.exitCode}`;
        return {
          ok: false,
          outcome: {
            status: 'failed',
            failure: 'setup',
            reason: `setup command \`${setup.command}\` ${how} (see logs/${path.basename(context.setupLog)})`,
          },
        };
      }
    }
  }
  return { ok: true, env, description: describePreparation(context) };
}

/** What the prompt tells the agent was prepared, so it does not redo it. */
function describePreparation(context: PrepareContext): string {
  const { task, config } = context;
  const lines: string[] = [];
  const copied = task.copiedFiles ?? [];
  if (copied.length > 0) {
    const shown = copied
      .slice(0, 20)
      .map((file) => `\`${file}\``)
      .join(', ');
    lines.push(
      `- orch copied these untracked files from the main checkout (do not commit them): ${shown}${copied.length > 20 ? `, and ${copied.length - 20} more` : ''}.`,
    );
  }
  if (config.worktree.setup.length > 0) {
    const ran = config.worktree.setup.map((command) => `\`${command}\``).join(', ');
    const time = task.setupMs !== undefined ? ` in ${formatDuration(task.setupMs)}` : '';
    lines.push(`- orch already ran the setup commands in this worktree${time}: ${ran}. Do not run them again.`);
  }
  if (task.ports && task.ports.length > 0) {
    lines.push(
      `- Ports reserved for you: ${task.ports.join(', ')} (also in $ORCH_PORT and $ORCH_PORTS). Use them for any server you start; other agents use other ports.`,
    );
  }
  return lines.join('\n');
}

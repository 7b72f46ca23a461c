import path from 'node:path';
import type { Outcome } from '../agent/outcome.js';
import type { OrchConfig } from '../config/schema.js';
import type { AttemptSpec } from '../executor/types.js';
import type { ProcessIdentity } from '../process/process-info.js';
import { formatDuration } from '../util/duration.js';
import { copyIncludes } from './include.js';
import { reservePorts } from './ports.js';
import { runSetup } from './setup.js';
import { lastSetupStamp, recordSetupStamp, setupStamp } from './setup-key.js';

export interface PrepareContext {
  /** Where the untracked files to copy come from: the user's checkout (on a worker, its `--include-from`). */
  includeRoot: string;
  /** Where port reservations are kept (the default: shared by every orch of this user on the machine). */
  portsDir?: string | undefined;
  spec: AttemptSpec;
  config: OrchConfig;
  env: NodeJS.ProcessEnv;
  /** True for a worktree created (or re-attached) for this attempt: copies and setup happen once per worktree. */
  fresh: boolean;
  owner: ProcessIdentity;
  setupLog: string;
  /** The run's list of untracked files to copy (computed once per run). */
  includeCandidates: () => Promise<string[]>;
  /** Ports are reserved before setup runs (setup may need them): told at once, so they are on record. */
  onPorts: (ports: number[]) => void;
  signal: AbortSignal;
  kill: AbortSignal;
}

export type Prepared =
  | {
      ok: true;
      env: Record<string, string>;
      description: string;
      ports: number[];
      copiedFiles: string[];
      setupMs?: number | undefined;
      setupSkipped: boolean;
    }
  | { ok: false; outcome: Outcome; ports: number[]; copiedFiles?: string[] | undefined; setupMs?: number | undefined };

/** The variables every setup command and agent gets. */
export function orchEnvironment(spec: AttemptSpec, ports: readonly number[]): Record<string, string> {
  const env: Record<string, string> = {
    ORCH_RUN_ID: spec.runId,
    ORCH_TASK_ID: spec.task.id,
    ORCH_WORKTREE: spec.task.worktree,
    ORCH_BRANCH: spec.task.branch,
    ORCH_BASE: spec.base.sha,
  };
  if (ports.length > 0) {
    env.ORCH_PORT = String(ports[0]);
    env.ORCH_PORTS = ports.join(',');
  }
  return env;
}

/**
 * Gets a task's worktree ready before its agent starts: reserves its ports, copies the
 * untracked files the user asked for, runs the setup commands (once per worktree). The caller
 * releases the ports when the attempt ends.
 */
export async function prepareWorktree(context: PrepareContext): Promise<Prepared> {
  const { spec, config } = context;
  const ports = await reservePorts(config.worktree.ports, context.owner, spec.runId, spec.task.id, { dir: context.portsDir });
  context.onPorts(ports);
  const env = orchEnvironment(spec, ports);
  let copiedFiles = spec.worktree.copiedFiles;
  let setupMs: number | undefined;
  let setupSkipped = false;

  if (context.fresh) {
    const copied = await copyIncludes(context.includeRoot, spec.task.worktree, await context.includeCandidates());
    copiedFiles = [...new Set([...copiedFiles, ...copied])];
    const stamp =
      config.worktree.setup.length > 0 ? await setupStamp(spec.task.worktree, config.worktree.setup, config.worktree.setupKey) : undefined;
    if (stamp !== undefined && stamp === (await lastSetupStamp(spec.task.worktree))) {
      setupSkipped = true;
    } else if (config.worktree.setup.length > 0) {
      // Whatever ran here before no longer counts: a setup that fails now leaves no stamp.
      if (stamp !== undefined) await recordSetupStamp(spec.task.worktree, undefined);
      const started = Date.now();
      const setup = await runSetup(config.worktree.setup, {
        cwd: spec.task.worktree,
        env: { ...context.env, ...env },
        logFile: context.setupLog,
        timeoutMs: spec.task.timeoutMs,
        graceMs: config.timeouts.killGrace,
        signal: context.signal,
        kill: context.kill,
      });
      setupMs = Date.now() - started;
      if (!setup.ok) {
        if (context.signal.aborted)
          return { ok: false, ports, copiedFiles, setupMs, outcome: { status: 'interrupted', reason: 'stopped during setup' } };
        const how = setup.timedOut ? 'timed out' : setup.signal ? `was killed by ${setup.signal}` : `exited ${setup.exitCode}`;
        return {
          ok: false,
          ports,
          copiedFiles,
          setupMs,
          outcome: {
            status: 'failed',
            failure: 'setup',
            reason: `setup command \`${setup.command}\` ${how} (see logs/${path.basename(context.setupLog)})`,
          },
        };
      }
      if (stamp !== undefined) await recordSetupStamp(spec.task.worktree, stamp);
    }
  }
  return {
    ok: true,
    env,
    ports,
    copiedFiles,
    setupMs,
    setupSkipped,
    description: describePreparation(config, copiedFiles, ports, setupMs, setupSkipped),
  };
}

/** What the prompt tells the agent was prepared, so it does not redo it. */
function describePreparation(
  config: OrchConfig,
  copied: readonly string[],
  ports: readonly number[],
  setupMs: number | undefined,
  setupSkipped: boolean,
): string {
  const lines: string[] = [];
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
    if (setupSkipped) {
      const keys = config.worktree.setupKey.map((file) => `\`${file}\``).join(', ');
      lines.push(`- The setup commands already ran in this worktree and ${keys} have not changed since: ${ran}. Do not run them again.`);
    } else {
      const time = setupMs !== undefined ? ` in ${formatDuration(setupMs)}` : '';
      lines.push(`- orch already ran the setup commands in this worktree${time}: ${ran}. Do not run them again.`);
    }
  }
  if (ports.length > 0) {
    lines.push(
      `- Ports reserved for you: ${ports.join(', ')} (also in $ORCH_PORT and $ORCH_PORTS). Use them for any server you start; other agents use other ports.`,
    );
  }
  return lines.join('\n');
}

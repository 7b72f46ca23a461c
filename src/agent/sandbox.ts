import { execFile } from '../process/exec-file.js';
import type { OrchConfig } from '../config/schema.js';
import { UserError, errorFirstLine } from '../errors.js';
import { pathExists } from '../util/fs.js';
import { findExecutable } from '../util/which.js';

/**
 * Claude Code's own sandbox around the commands an agent runs (its Bash tool): bubblewrap on
 * Linux (with socat for its network proxy), Seatbelt on macOS. orch turns it on through the
 * CLI's `--settings` and decides here whether the machine can have it.
 */

/** Whether agents run sandboxed, and the one line that says so (shown by run, plan and status). */
export interface SandboxState {
  enabled: boolean;
  summary: string;
}

/** What this machine offers the CLI's sandbox. */
export type MachineSandbox = { available: true; mechanism: string } | { available: false; why: string; install: string };

const LINUX_INSTALL = 'apt-get install bubblewrap socat (Debian, Ubuntu) or dnf install bubblewrap socat (Fedora)';

/**
 * What `agent.sandbox` means here: "auto" follows the machine, true requires the sandbox (a
 * UserError when it cannot be had: one line, nothing written), false turns it off. It is Claude
 * Code's sandbox, so a custom `agent.command` never gets it.
 */
export function decideSandbox(
  agent: Pick<OrchConfig['agent'], 'sandbox' | 'command' | 'sandboxNetwork'>,
  machine: MachineSandbox,
): SandboxState {
  if (agent.sandbox === false) return { enabled: false, summary: 'sandbox: off (agent.sandbox is false)' };
  if (agent.command) {
    if (agent.sandbox === true) {
      throw new UserError(
        'agent.sandbox is true, but agent.command is not Claude Code: orch can only sandbox claude; remove agent.command, or set agent.sandbox to "auto" or false.',
      );
    }
    return {
      enabled: false,
      summary: 'sandbox: off (agent.command is not Claude Code, whose sandbox orch configures; the refs guard still applies)',
    };
  }
  if (!machine.available) {
    if (agent.sandbox === true) {
      throw new UserError(
        `agent.sandbox is true but agents cannot be sandboxed on this machine: ${machine.why}; install it (${machine.install}), or set agent.sandbox to "auto" or false.`,
      );
    }
    return {
      enabled: false,
      summary: `sandbox: off: ${machine.why}, so agents' commands are not confined to their worktrees; to confine them: ${machine.install}`,
    };
  }
  const network = agent.sandboxNetwork.length > 0 ? agent.sandboxNetwork.join(', ') : 'none';
  return { enabled: true, summary: `sandbox: on (${machine.mechanism}): agents write only in their worktrees; network: ${network}` };
}

/** A run whose agents all run on workers (`--workers`): each worker decides, from the job's `agent.sandbox`. */
export const WORKERS_SANDBOX: SandboxState = {
  enabled: false,
  summary: "sandbox: each worker's own (agent.sandbox travels with every job)",
};

/** A sandbox that "auto" could not turn on is said at the start of a run (one turned off on purpose is not). */
export function sandboxWarning(config: OrchConfig, sandbox: SandboxState): string[] {
  return !sandbox.enabled && config.agent.sandbox === 'auto' ? [sandbox.summary] : [];
}

export interface MachineProbe {
  platform: NodeJS.Platform;
  find(name: string): Promise<string | undefined>;
  /** Starts a minimal bubblewrap sandbox: undefined when it works, else why not. */
  tryBubblewrap(bwrap: string): Promise<string | undefined>;
  exists(file: string): Promise<boolean>;
}

/** What the CLI's sandbox needs, looked up the way the CLI does (on PATH), and tried. */
export async function probeMachine(probe: MachineProbe): Promise<MachineSandbox> {
  if (probe.platform === 'darwin') {
    return (await probe.exists('/usr/bin/sandbox-exec'))
      ? { available: true, mechanism: 'Seatbelt' }
      : {
          available: false,
          why: 'macOS Seatbelt (/usr/bin/sandbox-exec) is missing',
          install: 'restore /usr/bin/sandbox-exec (every macOS has it)',
        };
  }
  if (probe.platform !== 'linux') {
    return { available: false, why: `Claude Code has no command sandbox on ${probe.platform}`, install: 'run orch on Linux or macOS' };
  }
  const [bwrap, socat] = await Promise.all([probe.find('bwrap'), probe.find('socat')]);
  const missing = [bwrap ? undefined : 'bubblewrap (bwrap)', socat ? undefined : 'socat'].filter((name) => name !== undefined);
  if (missing.length > 0) {
    return {
      available: false,
      why: `${missing.join(' and ')} ${missing.length === 1 ? 'is' : 'are'} not installed`,
      install: LINUX_INSTALL,
    };
  }
  const failure = await probe.tryBubblewrap(bwrap!);
  if (failure) {
    return {
      available: false,
      why: `bubblewrap cannot create a sandbox here (${failure})`,
      install: 'allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1)',
    };
  }
  return { available: true, mechanism: 'bubblewrap' };
}

/** The machine as it is: PATH from `env`, bubblewrap started for real (a few milliseconds). */
export function systemProbe(env: NodeJS.ProcessEnv, cwd: string): MachineProbe {
  return {
    platform: process.platform,
    find: (name) => findExecutable(name, env, cwd),
    exists: pathExists,
    tryBubblewrap: async (bwrap) => {
      // The namespaces Claude Code's sandbox asks bubblewrap for.
      const args = [
        '--new-session',
        '--die-with-parent',
        '--unshare-net',
        '--unshare-pid',
        '--unshare-user',
        '--ro-bind',
        '/',
        '/',
        '--dev',
        '/dev',
        'true',
      ];
      const result = await execFile(bwrap, args, { env, reject: false, timeoutMs: 10_000 }).catch((error: unknown) => error as Error);
      if (result instanceof Error) return errorFirstLine(result);
      if (result.exitCode === 0) return undefined;
      return errorFirstLine(result.stderr.trim() || `exit ${result.exitCode ?? result.signal ?? '?'}`).replace(/^bwrap: /, '');
    },
  };
}

/**
 * Whether agents run sandboxed on this machine with this config. A UserError when true cannot be
 * honoured, or when `agent.extraArgs` passes its own `--settings` (Claude Code keeps only the
 * last one, which would drop the sandbox's).
 */
export async function sandboxState(config: OrchConfig, env: NodeJS.ProcessEnv, cwd: string): Promise<SandboxState> {
  // Nothing to look for when the answer does not depend on the machine.
  const machine: MachineSandbox =
    config.agent.sandbox === false || config.agent.command
      ? { available: false, why: '', install: '' }
      : await probeMachine(systemProbe(env, cwd));
  return sandboxOn(config, machine);
}

/** sandboxState on a machine already probed (a worker probes once, and decides for each job's settings). */
export function sandboxOn(config: OrchConfig, machine: MachineSandbox): SandboxState {
  const state = decideSandbox(config.agent, machine);
  if (state.enabled && config.agent.extraArgs.some((arg) => arg === '--settings' || arg.startsWith('--settings='))) {
    throw new UserError(
      "agent.extraArgs passes --settings, which would replace the sandbox settings orch gives claude (the CLI keeps only the last one): put those settings in ~/.claude/settings.json or the project's .claude/settings.json, or set agent.sandbox to false.",
    );
  }
  return state;
}

/**
 * The settings orch gives Claude Code (`--settings`) for a sandboxed agent. Verified with the
 * pinned CLI (2.1.330):
 * - `enabled` + `failIfUnavailable`: Bash runs inside the sandbox, and the CLI refuses to start
 *   (exit 1) rather than run unsandboxed when it cannot have one;
 * - `allowUnsandboxedCommands: false`: without it a Bash call asking `dangerouslyDisableSandbox`
 *   runs outside the sandbox whenever an allow rule (`Bash(node:*)`) matches;
 * - `autoAllowBashIfSandboxed`: sandboxed commands need no allow-list entry;
 * - `network.allowedDomains`: what sandboxed commands may reach (nothing else: the CLI's proxy
 *   answers 403);
 * - `filesystem.denyWrite`: the paths in the repository's git folder that the CLI would leave
 *   writable but an agent has no business writing (see protectedGitPaths).
 * A `--settings` given twice: the last one wins whole, so orch's must be the only one.
 */
export function sandboxSettings(options: { network: readonly string[]; denyWrite: readonly string[] }): object {
  return {
    sandbox: {
      enabled: true,
      failIfUnavailable: true,
      autoAllowBashIfSandboxed: true,
      allowUnsandboxedCommands: false,
      network: { allowedDomains: [...options.network] },
      filesystem: { denyWrite: [...options.denyWrite] },
    },
  };
}

/**
 * Paths Claude Code 2.1.330's sandbox write-protects in the working directory. Where they do not
 * exist it binds /dev/null over them, and git inside the sandbox sees those as untracked files
 * it cannot add: `git add -A` fails ("can only add regular files"). Agents' git therefore gets
 * them as ignored (see sandboxGitEnv); outside the sandbox they do not exist.
 */
export const SANDBOX_PLACEHOLDERS = [
  '.bash_profile',
  '.bashrc',
  '.gitconfig',
  '.gitmodules',
  '.idea',
  '.mcp.json',
  '.profile',
  '.ripgreprc',
  '.vscode',
  '.zprofile',
  '.zshrc',
  '.claude/agents',
  '.claude/commands',
  '.claude/hooks',
  '.claude/launch.json',
  '.claude/loop.md',
  '.claude/output-styles',
  '.claude/routines',
  '.claude/scheduled_tasks.json',
  '.claude/settings.json',
  '.claude/settings.local.json',
  '.claude/skills',
  '.claude/workflows',
];

/** The agents' git excludes: the user's own (`core.excludesFile`, which this replaces for them), then the placeholders. */
export function sandboxExcludes(userExcludes: string): string {
  const own = userExcludes && !userExcludes.endsWith('\n') ? `${userExcludes}\n` : userExcludes;
  return `${own}# orch: what Claude Code's sandbox puts in the working directory (see SANDBOX_PLACEHOLDERS)\n${SANDBOX_PLACEHOLDERS.map((name) => `/${name}`).join('\n')}\n`;
}

/**
 * Environment that makes git read `excludesFile` (GIT_CONFIG_COUNT, git ≥ 2.31), added after any
 * GIT_CONFIG_* entries the environment already has. Claude Code appends its own after these.
 */
export function sandboxGitEnv(env: NodeJS.ProcessEnv, excludesFile: string): Record<string, string> {
  const count = Number.parseInt(env.GIT_CONFIG_COUNT ?? '0', 10);
  const index = Number.isInteger(count) && count > 0 ? count : 0;
  return {
    GIT_CONFIG_COUNT: String(index + 1),
    [`GIT_CONFIG_KEY_${index}`]: 'core.excludesFile',
    [`GIT_CONFIG_VALUE_${index}`]: excludesFile,
  };
}

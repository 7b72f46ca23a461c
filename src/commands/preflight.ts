import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PLACEHOLDER_NAMES, unknownPlaceholders } from '../agent/command.js';
import type { OrchConfig } from '../config/schema.js';
import { UserError, errorCode } from '../errors.js';
import { execFile } from '../process/exec-file.js';
import { runsDir, stateDir } from '../state/paths.js';
import { findExecutable } from '../util/which.js';

const INSTALL_HINT =
  'install Claude Code with `npm install -g @anthropic-ai/claude-code`, or point ORCH_CLAUDE_BIN (or agent.bin in .gadugi/config.json) at it';

/**
 * Checks the agent can run before anything is written: the executable exists, its permission
 * mode is usable, and Claude Code is logged in.
 */
export async function checkAgent(config: OrchConfig, env: NodeJS.ProcessEnv, cwd: string, signal?: AbortSignal): Promise<void> {
  const custom = config.agent.command;
  if (custom) {
    const unknown = unknownPlaceholders(custom);
    if (unknown.length > 0) {
      throw new UserError(
        `agent.command uses ${unknown.map((name) => `{${name}}`).join(', ')}, which orch does not fill in: use ${PLACEHOLDER_NAMES.map((name) => `{${name}}`).join(', ')}.`,
      );
    }
  }
  const executable = custom ? custom[0]! : config.agent.bin;
  const found = await findExecutable(executable, env, cwd);
  if (!found) {
    throw new UserError(
      custom
        ? `agent command "${executable}" (agent.command) not found on PATH: install it or give its full path.`
        : `${executable} not found: ${INSTALL_HINT}.`,
    );
  }
  if (custom) return;

  const bypass = config.agent.permissionMode === 'bypassPermissions' || config.agent.extraArgs.includes('--dangerously-skip-permissions');
  if (bypass && process.getuid?.() === 0 && env.IS_SANDBOX !== '1') {
    throw new UserError(
      'permission mode bypassPermissions is refused by claude when running as root unless IS_SANDBOX=1 is set: set IS_SANDBOX=1 if this machine is a sandbox, or use --permission-mode acceptEdits.',
    );
  }

  // `claude auth status` prints {"loggedIn": …} and exits 1 when logged out. Anything else
  // (an older CLI without the command, a slow start) is not held against the run.
  // (`signal`: another check failed first, and its answer no longer matters.)
  // (A CLI that cannot start at all is not held against it either: the agents' own starts say why.)
  const status = await execFile(found, ['auth', 'status'], {
    env: { ...process.env, ...env },
    cwd,
    reject: false,
    timeoutMs: 20_000,
    signal,
  }).catch(() => undefined);
  if (signal?.aborted || !status) return;
  try {
    const parsed = JSON.parse(status.stdout) as { loggedIn?: unknown };
    if (parsed.loggedIn === false)
      throw new UserError(`claude is not logged in: run \`claude\` once and log in, or set ANTHROPIC_API_KEY; then run orch again.`);
  } catch (error) {
    if (error instanceof UserError) throw error;
  }
}

/** The state directory must be writable before a run starts. */
export async function checkStateWritable(repoRoot: string): Promise<void> {
  const dir = runsDir(repoRoot);
  const probe = path.join(dir, `.write-check-${process.pid}`);
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(probe, '');
    await rm(probe, { force: true });
  } catch (error) {
    throw new UserError(
      `the state directory ${stateDir(repoRoot)} is not writable (${errorCode(error) ?? String(error)}): fix its permissions, or run orch as the repository's owner.`,
    );
  }
}

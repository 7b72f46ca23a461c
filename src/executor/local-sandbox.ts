import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { sandboxExcludes, sandboxGitEnv, sandboxSettings } from '../agent/sandbox.js';
import { environmentError, errorCode } from '../errors.js';
import { execFile } from '../process/exec-file.js';
import { commonDirOf } from '../worktree/common-dir.js';
import { protectedGitPaths } from '../worktree/protected-paths.js';
import type { LocalEnvironment } from './environment.js';
import type { AttemptSpec } from './types.js';

/** What a sandboxed agent gets: the settings file for `--settings`, and environment for its git. */
export interface AgentSandbox {
  settingsFile: string;
  env: Record<string, string>;
}

/** The settings file of an attempt, beside its prompt: `prompts/<task>[@n].settings.json`. */
export function settingsFileOf(spec: AttemptSpec): string {
  return spec.attempt.prompt.replace(/\.md$/, '.settings.json');
}

/** The file the refs guard keeps an attempt's refs in, beside its log: `logs/<task>[@n].refs.json`. */
export function refsFileOf(spec: AttemptSpec): string {
  return spec.attempt.log.replace(/\.jsonl$/, '.refs.json');
}

/**
 * Writes the attempt's sandbox settings (what its agent may not write in the git folder is
 * computed now, with its branch in place) and, once per run, the excludes its git reads.
 * Undefined when the run's agents are not sandboxed.
 */
export async function prepareSandbox(environment: LocalEnvironment, spec: AttemptSpec): Promise<AgentSandbox | undefined> {
  if (!environment.sandbox.enabled) return undefined;
  const denyWrite = await protectedGitPaths(await commonDirOf(environment.repoRoot), spec.task.branch);
  const settingsFile = path.join(environment.runDir, settingsFileOf(spec));
  try {
    await mkdir(path.dirname(settingsFile), { recursive: true });
    await writeFile(
      settingsFile,
      `${JSON.stringify(sandboxSettings({ network: environment.config.agent.sandboxNetwork, denyWrite }), null, 2)}\n`,
    );
  } catch (error) {
    throw (
      environmentError(
        error,
        `cannot write the sandbox settings ${settingsFile}`,
        'free some space or fix the permissions, then `orch resume`.',
      ) ?? error
    );
  }
  return { settingsFile, env: sandboxGitEnv(environment.env, await excludesFileOf(environment)) };
}

/**
 * Starts writing the run's agent excludes now, so the first agents' starts find them written
 * instead of each waiting for git's answer on their way to the agent; a failure is left to the
 * first start that needs them, which tries again and reports it.
 */
export function prepareRunSandbox(environment: LocalEnvironment): void {
  if (environment.sandbox.enabled) excludesFileOf(environment).catch(() => undefined);
}

/** The run's agent excludes file, written once per orchestrator (the first attempt writes it; the others wait for it). */
const excludesFiles = new WeakMap<LocalEnvironment, Promise<string>>();

function excludesFileOf(environment: LocalEnvironment): Promise<string> {
  let written = excludesFiles.get(environment);
  if (!written) {
    written = writeExcludes(environment);
    excludesFiles.set(environment, written);
    // A failure is the attempt's to report; the next attempt tries again.
    written.catch(() => excludesFiles.delete(environment));
  }
  return written;
}

async function writeExcludes(environment: LocalEnvironment): Promise<string> {
  const excludesFile = path.join(environment.runDir, 'agent.gitignore');
  try {
    // Replaced whole (an agent of an orchestrator that died may still be reading it).
    const staged = `${excludesFile}.${process.pid}.tmp`;
    await mkdir(environment.runDir, { recursive: true });
    await writeFile(staged, sandboxExcludes(await userExcludes(environment.repoRoot, environment.env)));
    await rename(staged, excludesFile);
  } catch (error) {
    throw (
      environmentError(
        error,
        `cannot write the agents' git excludes ${excludesFile}`,
        'free some space or fix the permissions, then `orch resume`.',
      ) ?? error
    );
  }
  return excludesFile;
}

/** The user's own global excludes (`core.excludesFile`, else git's default file): agents' git keeps honouring them. */
async function userExcludes(repoRoot: string, env: NodeJS.ProcessEnv): Promise<string> {
  const configured = await execFile('git', ['config', '--type=path', '--get', 'core.excludesFile'], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    reject: false,
  });
  const value = configured.exitCode === 0 ? configured.stdout.trim() : '';
  const file = value
    ? path.resolve(repoRoot, value)
    : path.join(env.XDG_CONFIG_HOME || path.join(env.HOME ?? homedir(), '.config'), 'git', 'ignore');
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR' || errorCode(error) === 'EISDIR') return '';
    throw error;
  }
}

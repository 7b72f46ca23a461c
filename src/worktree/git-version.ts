import { execFile } from '../process/exec-file.js';
import { UserError, errorCode } from '../errors.js';

/**
 * The git orch needs: 2.31 for `git worktree list --porcelain` marking stale worktrees
 * `prunable` (what resume and clean rely on). Features that need more say so themselves.
 */
export const GIT_MINIMUM = '2.31';

function parts(version: string): number[] {
  return version.split('.').map((part) => Number.parseInt(part, 10) || 0);
}

/** Whether `version` (e.g. "2.39.5") is at least `minimum` (e.g. "2.31"). */
export function atLeast(version: string, minimum: string): boolean {
  const have = parts(version);
  const need = parts(minimum);
  for (let index = 0; index < need.length; index++) {
    const a = have[index] ?? 0;
    const b = need[index] ?? 0;
    if (a !== b) return a > b;
  }
  return true;
}

let checked: Promise<string> | undefined;

/** The installed git's version ("2.39.5"), or a UserError saying what to install. Checked once per process. */
export function gitVersion(): Promise<string> {
  checked ??= (async () => {
    let output: string;
    try {
      output = (await execFile('git', ['--version'])).stdout;
    } catch (error) {
      if (errorCode(error) === 'ENOENT') throw new UserError(`git not found on PATH: install git ${GIT_MINIMUM} or newer.`);
      throw new UserError(`cannot run git --version: ${errorCode(error) ?? String(error)}.`);
    }
    const match = /git version (\d+(?:\.\d+)+)/.exec(output);
    if (!match) throw new UserError(`cannot tell the version of git from "${output.trim()}": orch needs git ${GIT_MINIMUM} or newer.`);
    return match[1]!;
  })();
  return checked;
}

/** Refuses a git older than `minimum`, naming what needs it. */
export async function requireGit(minimum = GIT_MINIMUM, purpose = 'orch needs'): Promise<void> {
  const version = await gitVersion();
  if (!atLeast(version, minimum))
    throw new UserError(`git ${version} is too old: ${purpose} git ${minimum} or newer; install a newer git.`);
}

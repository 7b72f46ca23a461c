import { constants } from 'node:fs';
import { access, mkdir, open, readFile, realpath, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
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
export function gitVersion(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  checked ??= (async () => {
    const binary = await gitBinary(env);
    const remembered = binary === undefined ? undefined : await rememberedVersion(env, binary);
    if (remembered !== undefined) return remembered;
    let output: string;
    try {
      output = (await execFile('git', ['--version'])).stdout;
    } catch (error) {
      if (errorCode(error) === 'ENOENT') throw new UserError(`git not found on PATH: install git ${GIT_MINIMUM} or newer.`);
      throw new UserError(`cannot run git --version: ${errorCode(error) ?? String(error)}.`);
    }
    const match = /git version (\d+(?:\.\d+)+)/.exec(output);
    if (!match) throw new UserError(`cannot tell the version of git from "${output.trim()}": orch needs git ${GIT_MINIMUM} or newer.`);
    if (binary !== undefined) await rememberVersion(env, binary, match[1]!);
    return match[1]!;
  })();
  return checked;
}

/**
 * The git binary a command would run (the first `git` on PATH, as execvp finds it), as the file
 * it is (symbolic links followed) and that file's identity: path, inode, size, modification and
 * change times. undefined when git is a script (a wrapper may run another git each time) or is
 * not found here: then git is asked every time.
 */
async function gitBinary(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, 'git');
    try {
      await access(candidate, constants.X_OK);
      const file = await realpath(candidate);
      const facts = await stat(file);
      if (!facts.isFile()) continue;
      const handle = await open(file, 'r');
      const start = Buffer.alloc(2);
      try {
        await handle.read(start, 0, 2, 0);
      } finally {
        await handle.close();
      }
      if (start.toString('latin1') === '#!') return undefined;
      return [file, facts.ino, facts.size, facts.mtimeMs, facts.ctimeMs].join('|');
    } catch {
      continue;
    }
  }
  return undefined;
}

/**
 * Where the versions of git binaries orch has asked are kept, so that a command that otherwise
 * starts no process (`orch status`) need not start `git --version`: node forks itself for each
 * process it starts. One line per binary, its identity (gitBinary) then its version.
 */
function versionsFile(env: NodeJS.ProcessEnv): string | undefined {
  const base = env.XDG_CACHE_HOME || (env.HOME ? path.join(env.HOME, '.cache') : undefined);
  return base === undefined ? undefined : path.join(base, 'orch', 'git-versions');
}

async function rememberedVersion(env: NodeJS.ProcessEnv, binary: string): Promise<string | undefined> {
  const file = versionsFile(env);
  if (file === undefined) return undefined;
  const text = await readFile(file, 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const cut = line.lastIndexOf('\t');
    if (cut > 0 && line.slice(0, cut) === binary && /^\d+(\.\d+)+$/.test(line.slice(cut + 1))) return line.slice(cut + 1);
  }
  return undefined;
}

/** Best effort: a cache that cannot be written only means git is asked again next time. */
async function rememberVersion(env: NodeJS.ProcessEnv, binary: string, version: string): Promise<void> {
  const file = versionsFile(env);
  if (file === undefined) return;
  try {
    await mkdir(path.dirname(file), { recursive: true });
    const kept = (await readFile(file, 'utf8').catch(() => ''))
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith(`${binary}\t`))
      .slice(-15);
    const temporary = `${file}.${process.pid}.tmp`;
    await writeFile(temporary, [...kept, `${binary}\t${version}`, ''].join('\n'));
    await rename(temporary, file);
  } catch {
    // Read-only home, full disk: git --version again next time.
  }
}

/** Refuses a git older than `minimum`, naming what needs it. */
export async function requireGit(minimum = GIT_MINIMUM, purpose = 'orch needs'): Promise<void> {
  const version = await gitVersion();
  if (!atLeast(version, minimum))
    throw new UserError(`git ${version} is too old: ${purpose} git ${minimum} or newer; install a newer git.`);
}

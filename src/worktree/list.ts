import type * as ChildProcessModule from 'node:child_process';
import { createRequire } from 'node:module';
import { execFile } from '../process/exec-file.js';

// child_process is loaded at the first group run, as exec-file.ts loads it.
const require = createRequire(import.meta.url);
const childProcess = (): typeof ChildProcessModule => require('node:child_process') as typeof ChildProcessModule;

/**
 * The two questions about worktrees that `orch clean` and the warm pool ask of every worktree,
 * through plain child_process: no simple-git (it waits 50 ms after a git process that prints
 * nothing, as `git status` of a clean worktree does) and no execa (~30 ms to load), so a command
 * that only cleans does not load either.
 */

export interface WorktreeEntry {
  path: string;
  branch?: string;
  head?: string;
  prunable: boolean;
  /** The lock's reason ('' for a lock without one), if the worktree is locked. */
  locked?: string;
}

/** `git worktree list --porcelain`, parsed: the repository's own working tree first. */
export async function listWorktrees(root: string): Promise<WorktreeEntry[]> {
  const { stdout } = await execFile('git', ['-c', 'core.quotePath=false', 'worktree', 'list', '--porcelain'], { cwd: root });
  const entries: WorktreeEntry[] = [];
  for (const block of stdout.split('\n\n')) {
    const lines = block.split('\n');
    const worktreeLine = lines.find((line) => line.startsWith('worktree '));
    if (!worktreeLine) continue;
    const entry: WorktreeEntry = {
      path: worktreeLine.slice('worktree '.length),
      prunable: lines.some((line) => line.startsWith('prunable')),
    };
    const branch = lines.find((line) => line.startsWith('branch '));
    if (branch) entry.branch = branch.slice('branch refs/heads/'.length);
    const head = lines.find((line) => line.startsWith('HEAD '));
    if (head) entry.head = head.slice('HEAD '.length);
    const locked = lines.find((line) => line === 'locked' || line.startsWith('locked '));
    if (locked !== undefined) entry.locked = locked.slice('locked '.length);
    entries.push(entry);
  }
  return entries;
}

const STATUS_ARGS = ['status', '--porcelain', '--untracked-files=all'];

function lines(stdout: string): string[] {
  return stdout.split('\n').filter((line) => line.trim());
}

/** `git status --porcelain` lines (untracked files included, one line each). */
export async function statusLines(worktree: string): Promise<string[]> {
  const { stdout } = await execFile('git', STATUS_ARGS, { cwd: worktree });
  return lines(stdout);
}

/** Groups one `sh` can run side by side (each on a file descriptor of its own, 3 to 9). */
export const MAX_GROUPS = 7;

/**
 * Runs the shell script `script` once per group (at most MAX_GROUPS), all at once, each with its group's items as its
 * arguments ("$@"), from one `sh` process: node starts a process by forking itself, which costs its
 * one thread ~1–3 ms a process (more the larger it is); a shell forks in a fraction of that. Each
 * group's standard output comes back on a pipe of its own (fd 3, 4, …), with the group's exit
 * status (its script's last command's). The items are passed as arguments, never put into the
 * script's text. Rejects when `sh` cannot start or is killed.
 */
export function runGroups(script: string, groups: ReadonlyArray<readonly string[]>): Promise<Array<{ stdout: string; exitCode: number }>> {
  if (groups.length === 0) return Promise.resolve([]);
  // sh redirects file descriptors 0 to 9 only (dash): groups write to 3 to 9.
  if (groups.length > MAX_GROUPS) return Promise.reject(new Error(`runGroups runs at most ${MAX_GROUPS} groups, not ${groups.length}`));
  // "$1" is the script (kept in $s); the items follow, group after group, each group in a subshell of its own.
  let next = 2;
  const jobs = groups.map((group, number) => {
    const items = group.map(() => `"\${${next++}}"`).join(' ');
    return `( set -- ${items}; eval "$s" ) >&${3 + number} & p${number}=$!`;
  });
  const waits = groups.map((_, number) => `wait $p${number}; e${number}=$?`);
  const outer = ['s=$1', ...jobs, ...waits, `echo ${groups.map((_, number) => `$e${number}`).join(' ')}`].join('\n');
  return new Promise((resolve, reject) => {
    const child = childProcess().spawn('sh', ['-c', outer, 'sh', script, ...groups.flat()], {
      stdio: ['ignore', 'pipe', 'pipe', ...groups.map(() => 'pipe' as const)],
    });
    const outputs = groups.map((_, number) => {
      const chunks: Buffer[] = [];
      child.stdio[3 + number]!.on('data', (chunk: Buffer) => chunks.push(chunk));
      return chunks;
    });
    const statuses: Buffer[] = [];
    child.stdout!.on('data', (chunk: Buffer) => statuses.push(chunk));
    child.stderr!.resume();
    child.on('error', reject);
    child.on('close', (exitCode, signal) => {
      const codes = Buffer.concat(statuses).toString('utf8').trim().split(' ').map(Number);
      if (exitCode !== 0 || codes.length !== groups.length || codes.some((code) => !Number.isInteger(code))) {
        reject(new Error(`sh running ${groups.length} groups ended ${signal ?? `with exit code ${exitCode}`} without their statuses`));
        return;
      }
      resolve(outputs.map((chunks, number) => ({ stdout: Buffer.concat(chunks).toString('utf8'), exitCode: codes[number]! })));
    });
  });
}

/**
 * Each worktree's `statusLines`, the same git command in each, asked in `shells` groups side by
 * side (one `sh` process, see `runGroups`), each group going through its share of the worktrees
 * one after another: `orch clean` of 32 worktrees starts one process from node instead of 32.
 * undefined for a worktree where git failed (`statusLines` of it says why). Each git's output is
 * followed by a NUL and its exit status and a NUL (porcelain output without -z holds no NUL).
 * `--no-optional-locks`: git does not write back the index it refreshed (a worktree being judged
 * for removal is only read; the answer is the same).
 */
export async function statusLinesOfEachOrFailed(worktrees: readonly string[], shells = 4): Promise<Array<string[] | undefined>> {
  const groups: number[][] = Array.from({ length: Math.min(shells, worktrees.length) }, () => []);
  worktrees.forEach((_, index) => groups[index % groups.length]!.push(index));
  const script = `for w do git --no-optional-locks -C "$w" ${STATUS_ARGS.join(' ')}; printf '\\0%d\\0' "$?"; done`;
  const answers: Array<string[] | undefined> = worktrees.map(() => undefined);
  const outputs = await runGroups(
    script,
    groups.map((group) => group.map((index) => worktrees[index]!)),
  );
  groups.forEach((group, number) => {
    const parts = outputs[number]!.stdout.split('\0');
    group.forEach((index, position) => {
      const output = parts[position * 2];
      if (output !== undefined && parts[position * 2 + 1] === '0') answers[index] = lines(output);
    });
  });
  return answers;
}

/**
 * `statusLinesOfEachOrFailed`, where a worktree whose git failed is asked again on its own, so it
 * fails with git's own error exactly as `statusLines` does.
 */
export async function statusLinesOfEach(worktrees: readonly string[], shells = 4): Promise<string[][]> {
  const answers = await statusLinesOfEachOrFailed(worktrees, shells);
  return Promise.all(answers.map(async (answer, index) => answer ?? (await statusLines(worktrees[index]!))));
}

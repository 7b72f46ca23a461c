import { execFile } from '../process/exec-file.js';

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

/**
 * Each worktree's `statusLines`, the same git command in each, asked by `shells` shell processes
 * side by side, each going through its share of the worktrees one after another. Node starts a
 * process by forking itself, which costs its one thread ~1–3 ms a process (more the larger it is);
 * a shell forks in a fraction of that, so `orch clean` of 32 worktrees starts 4 processes instead
 * of 32. Each git's output is followed by a NUL and its exit status and a NUL (porcelain output
 * without -z holds no NUL). A worktree whose git failed is asked again on its own, so it fails
 * with git's own error exactly as `statusLines` does.
 */
export async function statusLinesOfEach(worktrees: readonly string[], shells = 4): Promise<string[][]> {
  const groups: number[][] = Array.from({ length: Math.min(shells, worktrees.length) }, () => []);
  worktrees.forEach((_, index) => groups[index % groups.length]!.push(index));
  const script = `for w do git -C "$w" ${STATUS_ARGS.join(' ')}; printf '\\0%d\\0' "$?"; done`;
  const answers: Array<string[] | undefined> = worktrees.map(() => undefined);
  await Promise.all(
    groups.map(async (group) => {
      const { stdout } = await execFile('sh', ['-c', script, 'sh', ...group.map((index) => worktrees[index]!)], { reject: false });
      const parts = stdout.split('\0');
      await Promise.all(
        group.map(async (index, position) => {
          const output = parts[position * 2];
          const status = parts[position * 2 + 1];
          answers[index] = output !== undefined && status === '0' ? lines(output) : await statusLines(worktrees[index]!);
        }),
      );
    }),
  );
  return answers.map((answer) => answer!);
}

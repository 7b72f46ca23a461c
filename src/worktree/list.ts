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

/** `git status --porcelain` lines (untracked files included, one line each). */
export async function statusLines(worktree: string): Promise<string[]> {
  const { stdout } = await execFile('git', ['status', '--porcelain', '--untracked-files=all'], { cwd: worktree });
  return stdout.split('\n').filter((line) => line.trim());
}

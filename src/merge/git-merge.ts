import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { errorFirstLine } from '../errors.js';
import { ownCommitConfig } from '../worktree/git.js';
import { gitAt } from '../worktree/simple-git.js';

/**
 * The git operations of the merge queue. Previews use `git merge-tree --write-tree` (git 2.38),
 * which merges in the object store only: a conflict is known, with its files, before the
 * integration worktree changes. Merges themselves happen in the integration worktree, with orch's
 * own commit settings (unsigned, no hooks, a fallback identity).
 */

/** The git the merge queue needs: `merge-tree --write-tree`. */
export const GIT_MINIMUM_FOR_MERGE = '2.38';

export type Preview = { clean: true; tree: string } | { clean: false; tree: string; files: string[] };

/** What merging `theirs` into `ours` would give, computed without touching any worktree. */
export async function previewMerge(root: string, ours: string, theirs: string): Promise<Preview> {
  const result = await execa('git', ['merge-tree', '--write-tree', '--name-only', '-z', '--no-messages', ours, theirs], {
    cwd: root,
    reject: false,
    stdin: 'ignore',
  });
  const fields = String(result.stdout).split('\0').filter(Boolean);
  const tree = fields[0] ?? '';
  if (result.exitCode === 0 && tree) return { clean: true, tree };
  if (result.exitCode === 1 && tree && !String(result.stderr).trim()) return { clean: false, tree, files: fields.slice(1) };
  throw new Error(`git merge-tree ${ours} ${theirs} failed: ${errorFirstLine(result.stderr || result.stdout)}`);
}

/** A commit object for a previewed merge (no ref points at it): how a dry run chains its predictions. */
export async function commitTree(root: string, tree: string, parents: readonly string[], message: string): Promise<string> {
  const args = ['commit-tree', tree, ...parents.flatMap((parent) => ['-p', parent]), '-m', message];
  const { stdout } = await execa('git', ['-c', 'commit.gpgsign=false', ...args], {
    cwd: root,
    stdin: 'ignore',
    env: { GIT_AUTHOR_NAME: 'orch', GIT_AUTHOR_EMAIL: 'orch@localhost', GIT_COMMITTER_NAME: 'orch', GIT_COMMITTER_EMAIL: 'orch@localhost' },
  });
  return String(stdout).trim();
}

export async function headOf(worktree: string): Promise<string> {
  return (await gitAt(worktree).raw(['rev-parse', 'HEAD'])).trim();
}

/** Whether `ancestor` is reachable from `descendant`. */
export async function isAncestor(root: string, ancestor: string, descendant: string): Promise<boolean> {
  const result = await execa('git', ['merge-base', '--is-ancestor', ancestor, descendant], { cwd: root, reject: false, stdin: 'ignore' });
  if (result.exitCode === 0) return true;
  if (result.exitCode === 1) return false;
  throw new Error(`git merge-base --is-ancestor ${ancestor} ${descendant} failed: ${errorFirstLine(result.stderr)}`);
}

/** The trailer each of orch's integration commits carries: the task it integrated. */
export const TASK_TRAILER = 'Orch-Task';

export function integrationMessage(subject: string, runId: string, taskId: string, branch: string): string {
  return `${subject}\n\nBranch: ${branch}\n${TASK_TRAILER}: ${runId}/${taskId}\n`;
}

/**
 * The tasks already integrated on the branch since `start`, by the trailer of their commits:
 * task id → commit. How a merge killed at any moment continues without merging anything twice
 * (ancestry alone would not recognise a squashed task).
 */
export async function integratedTasks(dir: string, start: string, runId: string, tip = 'HEAD'): Promise<Map<string, string>> {
  // Oldest first: a killed merge's unchecked commits are checked in the order they were made.
  const output = await gitAt(dir).raw([
    'log',
    '--reverse',
    '--first-parent',
    `--format=%H%x1f%(trailers:key=${TASK_TRAILER},valueonly,separator=%x1e)%x1d`,
    `${start}..${tip}`,
  ]);
  const found = new Map<string, string>();
  for (const record of output.split('\x1d')) {
    const [sha, trailers] = record.trim().split('\x1f');
    if (!sha || !trailers) continue;
    for (const value of trailers.split('\x1e')) {
      const [run, task] = value.trim().split('/');
      if (run === runId && task && !found.has(task)) found.set(task, sha);
    }
  }
  return found;
}

/**
 * Records a clean merge the preview already computed: the commit is made from the previewed tree
 * (`git commit-tree`: a merge commit with both parents, or with `squash` a plain one), then the
 * worktree's branch moves to it. git merges once, in the preview, not twice.
 */
export async function commitPreviewedMerge(
  worktree: string,
  head: string,
  branch: string,
  tree: string,
  message: string,
  squash: boolean,
): Promise<string> {
  const config = await ownCommitConfig(worktree);
  const parents = squash ? [head] : [head, branch];
  const { stdout } = await execa(
    'git',
    [
      ...config.flatMap((setting) => ['-c', setting]),
      'commit-tree',
      '--no-gpg-sign',
      tree,
      ...parents.flatMap((parent) => ['-p', parent]),
      '-F',
      '-',
    ],
    {
      cwd: worktree,
      input: message,
    },
  );
  const commit = String(stdout).trim();
  await gitAt(worktree).raw(['reset', '--hard', commit]);
  return commit;
}

/**
 * Starts a merge that conflicts and leaves it in place (conflict markers in the files,
 * MERGE_HEAD set) for an agent to resolve. With `squash`, git keeps no MERGE_HEAD: the
 * resolution is committed as a plain commit.
 */
export async function startConflictedMerge(worktree: string, branch: string, squash: boolean): Promise<void> {
  const git = gitAt(worktree, await ownCommitConfig(worktree));
  // git exits 1 on the conflict; simple-git rejects then, which is what is expected here.
  await git.raw(squash ? ['merge', '--squash', branch] : ['merge', '--no-ff', '--no-commit', branch]).catch(() => undefined);
}

/** Paths git still considers unmerged. */
export async function unmergedPaths(worktree: string): Promise<string[]> {
  const output = await gitAt(worktree).raw(['diff', '--name-only', '--diff-filter=U', '-z']);
  return output.split('\0').filter(Boolean);
}

const MARKER = /^(<{7}|>{7})( |$)/m;

/** Files among `files` (relative to the worktree) that still hold a conflict marker. */
export async function filesWithMarkers(worktree: string, files: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for (const file of files) {
    const text = await readFile(path.join(worktree, file), 'utf8').catch(() => '');
    if (MARKER.test(text)) found.push(file);
  }
  return found;
}

/** Whether a merge is under way in the worktree (or its index holds a squashed one). */
export async function mergeInProgress(worktree: string): Promise<boolean> {
  const gitDir = (await gitAt(worktree).raw(['rev-parse', '--absolute-git-dir'])).trim();
  return (
    (await readFile(path.join(gitDir, 'MERGE_HEAD'), 'utf8').then(
      () => true,
      () => false,
    )) ||
    (await readFile(path.join(gitDir, 'SQUASH_MSG'), 'utf8').then(
      () => true,
      () => false,
    ))
  );
}

/**
 * Concludes a resolved merge the agent left uncommitted: only when nothing is unmerged and no
 * marker remains. Returns whether it made the commit.
 */
export async function commitResolvedMerge(worktree: string, message: string): Promise<boolean> {
  const git = gitAt(worktree, await ownCommitConfig(worktree));
  if (!(await mergeInProgress(worktree))) return false;
  await git.raw(['add', '-A']);
  await git.raw(['commit', '--no-verify', '-m', message]);
  return true;
}

/**
 * Puts the integration worktree back at `commit`: any merge under way is aborted and every change
 * to tracked files discarded. Only ever used on orch's own integration worktree. Untracked files
 * stay (the copies and setup output it was prepared with).
 */
export async function resetTo(worktree: string, commit: string): Promise<void> {
  const git = gitAt(worktree);
  if (await mergeInProgress(worktree)) await git.raw(['merge', '--abort']).catch(() => undefined);
  await git.raw(['reset', '--hard', commit]);
}

/** Files a branch changed since `base` (what a task touched). */
export async function changedFiles(root: string, base: string, branch: string): Promise<string[]> {
  const output = await gitAt(root).raw(['diff', '--name-only', '-z', `${base}...${branch}`]);
  return output.split('\0').filter(Boolean);
}

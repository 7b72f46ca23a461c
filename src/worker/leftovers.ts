import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { errorCode } from '../errors.js';
import { ProcessGroup } from '../process/process-group.js';
import { isAlive, type ProcessIdentity } from '../process/process-info.js';
import { execFile } from '../process/exec-file.js';
import { listWorktrees, removeUnfinishedCheckout, type WorktreeEntry } from '../worktree/git.js';
import { gitAt } from '../worktree/simple-git.js';
import { isPooledPath, pendingSwitch, poolDir, putInPool, takenFromPool } from '../worktree/pool.js';
import type { Workdir } from './workdir.js';

/** What a worker keeps on disk about each running agent. */
interface AgentFile {
  identity: ProcessIdentity;
  runId: string;
  taskId: string;
}

export type Leftover = { kind: 'agent'; pid: number; runId: string; taskId: string } | { kind: 'worktree'; from: string; to: string };

export async function recordAgent(workdir: Workdir, jobId: string, agent: AgentFile): Promise<void> {
  await mkdir(workdir.agents, { recursive: true });
  await writeFile(workdir.agent(jobId), JSON.stringify(agent));
}

export async function forgetAgent(workdir: Workdir, jobId: string): Promise<void> {
  await rm(workdir.agent(jobId), { force: true });
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return [];
    throw error;
  }
}

/**
 * What a worker that died (SIGKILL, a crash, a reboot) left in its workdir, dealt with before a
 * new worker takes jobs there: its agents still running are stopped (by their process group,
 * checked by pid and start time: never a process it did not start), and its worktrees move under
 * `kept/` (their jobs ran again elsewhere; what they hold is never deleted).
 */
export async function reapLeftovers(workdir: Workdir, graceMs: number): Promise<Leftover[]> {
  const found: Leftover[] = [];
  for (const name of await listDir(workdir.agents)) {
    const file = path.join(workdir.agents, name);
    let agent: AgentFile | undefined;
    try {
      agent = JSON.parse(await readFile(file, 'utf8')) as AgentFile;
    } catch {
      agent = undefined;
    }
    if (agent && isAlive(agent.identity)) {
      await ProcessGroup.adopt(agent.identity).stop(graceMs);
      found.push({ kind: 'agent', pid: agent.identity.pid, runId: agent.runId, taskId: agent.taskId });
    }
    await rm(file, { force: true });
  }
  const worktreesRoot = workdir.worktrees + path.sep;
  for (const repo of await listDir(path.join(workdir.root, 'repos'))) {
    const repoDir = path.join(workdir.root, 'repos', repo);
    let pruned = false;
    for (const entry of await listWorktrees(repoDir)) {
      if (!path.resolve(entry.path).startsWith(worktreesRoot)) continue;
      if (entry.prunable) {
        if (!pruned) await gitAt(repoDir).raw(['worktree', 'prune']);
        pruned = true;
        continue;
      }
      // The warm pool stays; a worktree taken from it that no agent worked in yet goes back.
      if (isPooledPath(entry.path)) continue;
      // One whose checkout never finished goes (no agent worked in it; it cannot be moved, locked).
      if (await removeUnfinishedCheckout(repoDir, entry.path)) continue;
      if ((await takenFromPool(entry.path)) && (await backToPool(repoDir, poolDir(workdir.worktrees), entry))) continue;
      const [runId = 'run', taskId = 'task'] = path.relative(workdir.worktrees, entry.path).split(path.sep);
      const kept = workdir.kept(runId, taskId, new Date());
      await mkdir(path.dirname(kept), { recursive: true });
      await gitAt(repoDir).raw(['worktree', 'move', entry.path, kept]);
      // Detached where it was: its files stay as they are, and its branch is free for the next attempt.
      await gitAt(kept).raw(['checkout', '--quiet', '--detach']);
      found.push({ kind: 'worktree', from: entry.path, to: kept });
    }
  }
  return found;
}

/**
 * A worktree taken from the pool whose switch to its task's branch was cut short goes back to the
 * pool. The branch that switch may have made (at the job's base: no agent worked in it) goes too,
 * when another ref holds its commit; otherwise the next job of that task keeps it aside. False when
 * it could not go back (git refused to move it, or to detach it): the caller keeps it aside.
 */
async function backToPool(repoDir: string, pool: string, entry: WorktreeEntry): Promise<boolean> {
  // A switch not begun yet: still detached, its branch claimed at the job's base (see claimNewBranch).
  const claimed = entry.branch === undefined ? await pendingSwitch(entry.path).catch(() => undefined) : undefined;
  const branch = entry.branch ?? claimed?.branch;
  const head = entry.branch !== undefined ? entry.head : claimed?.baseSha;
  try {
    if ((await putInPool(repoDir, pool, entry.path)) === undefined) return false;
  } catch {
    return false;
  }
  if (branch !== undefined && head !== undefined) {
    const { stdout } = await execFile('git', ['for-each-ref', '--format=%(refname)', `--contains=${head}`], { cwd: repoDir });
    const holders = stdout.split('\n').filter((ref) => ref && ref !== `refs/heads/${branch}`);
    if (holders.length > 0) await execFile('git', ['branch', '-D', branch], { cwd: repoDir });
  }
  return true;
}

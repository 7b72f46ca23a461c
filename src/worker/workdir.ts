import { createHash } from 'node:crypto';
import path from 'node:path';
import { worktreePath } from '../state/paths.js';

/**
 * Everything a worker writes lives under its `--workdir`:
 *
 *     repos/<name>-<hash>.git     one bare clone per remote
 *     worktrees/<run>/<task>      an attempt's worktree, pooled (or removed) once its branch is pushed
 *     worktrees/.pool/<name>      the warm pool: clean, detached worktrees for the next jobs
 *     runs/<run>/logs, prompts    an attempt's output, also copied to the coordinator
 *     kept/<run>/<task>-<time>    worktrees left by a worker that died or could not push: never deleted
 *     agents/<job>.json           the agent of each running job, stopped by the next worker on this workdir
 *     ports/                      port reservations of this worker's attempts
 *     locks/                      git operations on a clone, one at a time
 *     worker.lock                 one worker per workdir
 */
export class Workdir {
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  /** A clone's folder: a readable name from the remote, and a hash so that two remotes never share one. */
  repo(remote: string): string {
    const readable =
      remote
        .replace(/\.git$/, '')
        .split(/[/:\\]/)
        .filter(Boolean)
        .pop()
        ?.replace(/[^A-Za-z0-9._-]/g, '-')
        .slice(0, 40) ?? 'repo';
    const hash = createHash('sha256').update(remote).digest('hex').slice(0, 10);
    return path.join(this.root, 'repos', `${readable || 'repo'}-${hash}.git`);
  }

  get worktrees(): string {
    return path.join(this.root, 'worktrees');
  }

  worktree(runId: string, taskId: string): string {
    return worktreePath(this.worktrees, runId, taskId);
  }

  run(runId: string): string {
    return path.join(this.root, 'runs', runId);
  }

  kept(runId: string, taskId: string, at: Date): string {
    return path.join(this.root, 'kept', runId, `${taskId}-${at.toISOString().replace(/[:.]/g, '-')}`);
  }

  get agents(): string {
    return path.join(this.root, 'agents');
  }

  agent(jobId: string): string {
    return path.join(this.agents, `${jobId}.json`);
  }

  get ports(): string {
    return path.join(this.root, 'ports');
  }

  get locks(): string {
    return path.join(this.root, 'locks');
  }

  get lock(): string {
    return path.join(this.root, 'worker.lock');
  }
}

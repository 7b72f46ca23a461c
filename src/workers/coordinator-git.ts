import { execa } from 'execa';
import { baseRef, firstGitLine, runRefs, startRef, taskRef } from '../worker/clone.js';

async function git(repoRoot: string, args: readonly string[]): Promise<string> {
  const result = await execa('git', ['-c', 'gc.auto=0', '-c', 'maintenance.auto=false', ...args], {
    cwd: repoRoot,
    reject: false,
    stdin: 'ignore',
    env: { GIT_TERMINAL_PROMPT: '0' },
  });
  if (result.exitCode !== 0) throw new Error(String(result.stderr).trim() || `git ${args[0]} exited ${result.exitCode}`);
  return String(result.stdout);
}

/**
 * The coordinator's git traffic with the remote. It writes only under `refs/orch/<run>/` (the
 * run's base, a task's start point when it is not the base), and reads task branches back into
 * the local branches `orch/<run>/<task>`, which are never forced: a worker's branch always
 * continues what the coordinator has.
 */
export class CoordinatorGit {
  constructor(
    private readonly repoRoot: string,
    /** The remote as the coordinator reaches it (its name, or its URL with any credentials). */
    private readonly remote: string,
  ) {}

  /** Whether the remote answers, before anything is written. */
  async check(): Promise<void> {
    await git(this.repoRoot, ['ls-remote', '--heads', '--', this.remote, 'refs/heads/__orch_probe__']);
  }

  /** Puts the run's base where workers find it. */
  async pushBase(runId: string, sha: string): Promise<void> {
    await git(this.repoRoot, ['push', '--quiet', '--no-verify', '--', this.remote, `+${sha}:${baseRef(runId)}`]);
  }

  /** A task that starts from another commit than the base (the integration branch's head, with --merge). */
  async pushStart(runId: string, taskId: string, sha: string): Promise<void> {
    await git(this.repoRoot, ['push', '--quiet', '--no-verify', '--', this.remote, `+${sha}:${startRef(runId, taskId)}`]);
  }

  /**
   * Fetches a task branch as a worker pushed it into the local branch, and checks it is the commit
   * the worker reported.
   */
  async fetchTask(runId: string, taskId: string, branch: string, expected: string): Promise<void> {
    try {
      await git(this.repoRoot, [
        'fetch',
        '--quiet',
        '--no-write-fetch-head',
        '--no-tags',
        '--',
        this.remote,
        `${taskRef(runId, taskId)}:refs/heads/${branch}`,
      ]);
    } catch (error) {
      throw new Error(`cannot fetch ${branch} from the remote: ${firstGitLine(error)}`, { cause: error });
    }
    const head = (await git(this.repoRoot, ['rev-parse', '--verify', `refs/heads/${branch}`])).trim();
    if (head !== expected) throw new Error(`the remote's ${branch} is at ${head.slice(0, 9)}, the worker pushed ${expected.slice(0, 9)}`);
  }

  /** Every ref the run left on the remote (for `orch clean`). */
  async runRefsOnRemote(runId: string): Promise<string[]> {
    const output = await git(this.repoRoot, ['ls-remote', '--', this.remote, `${runRefs(runId)}/*`]);
    return output
      .split('\n')
      .map((line) => line.split('\t')[1] ?? '')
      .filter(Boolean);
  }

  async deleteRemoteRefs(refs: readonly string[]): Promise<void> {
    if (refs.length === 0) return;
    await git(this.repoRoot, ['push', '--quiet', '--no-verify', '--', this.remote, ...refs.map((ref) => `:${ref}`)]);
  }
}

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

interface FetchRequest {
  runId: string;
  taskId: string;
  branch: string;
  expected: string;
  resolve: () => void;
  reject: (error: unknown) => void;
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
   * Fetches task branches as workers pushed them into the local branches, and checks each is the
   * commit its worker reported. Requests that arrive while a fetch is under way go together in
   * the next one (one git process for many branches); a batch that fails is retried one by one,
   * so one bad branch does not fail the others.
   */
  fetchTask(runId: string, taskId: string, branch: string, expected: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ runId, taskId, branch, expected, resolve, reject });
      if (!this.draining) void this.drain();
    });
  }

  private readonly pending: FetchRequest[] = [];
  private draining = false;

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0);
        try {
          await this.fetchBatch(batch);
          for (const request of batch) request.resolve();
        } catch {
          for (const request of batch) await this.fetchBatch([request]).then(request.resolve, request.reject);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private async fetchBatch(batch: readonly FetchRequest[]): Promise<void> {
    const refspecs = batch.map(({ runId, taskId, branch }) => `${taskRef(runId, taskId)}:refs/heads/${branch}`);
    try {
      await git(this.repoRoot, ['fetch', '--quiet', '--no-write-fetch-head', '--no-tags', '--', this.remote, ...refspecs]);
    } catch (error) {
      const what = batch.length === 1 ? batch[0]!.branch : `${batch.length} task branches`;
      throw new Error(`cannot fetch ${what} from the remote: ${firstGitLine(error)}`, { cause: error });
    }
    const heads = await this.branchHeads(batch.map((request) => request.branch));
    for (const { branch, expected } of batch) {
      const head = heads.get(branch);
      if (head !== expected)
        throw new Error(`the remote's ${branch} is at ${head?.slice(0, 9) ?? 'nothing'}, the worker pushed ${expected.slice(0, 9)}`);
    }
  }

  /** The heads of these local branches (those that exist). */
  async branchHeads(branches: readonly string[]): Promise<Map<string, string>> {
    const heads = new Map<string, string>();
    if (branches.length === 0) return heads;
    const output = await git(this.repoRoot, [
      'for-each-ref',
      '--format=%(refname:lstrip=2) %(objectname)',
      ...branches.map((branch) => `refs/heads/${branch}`),
    ]);
    for (const line of output.split('\n')) {
      const [name, sha] = line.split(' ');
      if (name && sha) heads.set(name, sha);
    }
    return heads;
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

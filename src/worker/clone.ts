import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { errorFirstLine } from '../errors.js';
import { pathExists } from '../util/fs.js';
import { GitMutex } from '../worktree/mutex.js';
import type { LockNotice } from '../worktree/owned-lock.js';

// The same quiet settings as orch's other git calls: no gc or maintenance in the middle of a job,
// and paths printed as they are.
const QUIET = ['-c', 'gc.auto=0', '-c', 'maintenance.auto=false', '-c', 'core.quotePath=false'];

/** A git failure talking to the remote: the attempt fails with reason `remote`. */
export class RemoteError extends Error {
  override readonly name = 'RemoteError';
}

/** The namespace a run's refs live under on the remote; only orch writes there. */
export const runRefs = (runId: string): string => `refs/orch/${runId}`;
export const taskRef = (runId: string, taskId: string): string => `${runRefs(runId)}/tasks/${taskId}`;
export const baseRef = (runId: string): string => `${runRefs(runId)}/base`;
export const startRef = (runId: string, taskId: string): string => `${runRefs(runId)}/start/${taskId}`;

/**
 * A worker's bare clone of one remote. It fetches only the refs of the runs it works for (under
 * `refs/orch/<run>/`), holds a branch per attempt for the attempt's worktree, and pushes the
 * task branch back. Changes to it happen one at a time (the mutex): git's ref and worktree
 * locks make concurrent changes fail at random.
 */
export class RemoteClone {
  readonly mutex: GitMutex;
  private readonly fetching = new Map<string, Promise<void>>();

  constructor(
    readonly remote: string,
    readonly dir: string,
    locks: string,
    private readonly env: NodeJS.ProcessEnv,
    notice?: (notice: LockNotice) => void,
  ) {
    const stateDir = path.join(locks, path.basename(dir));
    this.mutex = new GitMutex(stateDir, { notice, name: path.join(stateDir, 'git.lock') });
  }

  async git(args: readonly string[], options: { cwd?: string } = {}): Promise<string> {
    const result = await execa('git', [...QUIET, ...args], {
      cwd: options.cwd ?? this.dir,
      env: { ...this.env, GIT_TERMINAL_PROMPT: '0' },
      stdin: 'ignore',
      reject: false,
    });
    if (result.exitCode !== 0) {
      const message = String(result.stderr).trim() || String(result.stdout).trim() || `git ${args[0]} exited ${result.exitCode}`;
      throw new Error(message);
    }
    return String(result.stdout);
  }

  /** Creates the clone the first time (an empty bare repository: only what jobs need is fetched). */
  async ensure(): Promise<void> {
    if (await pathExists(path.join(this.dir, 'HEAD'))) return;
    await mkdir(this.dir, { recursive: true });
    await this.git(['init', '--quiet', '--bare', this.dir], { cwd: path.dirname(this.dir) });
  }

  /** Whether the remote answers (the probe a worker runs before it takes jobs of a remote). */
  async probe(): Promise<void> {
    await this.ensure();
    try {
      await this.git(['ls-remote', '--heads', '--', this.remote, 'refs/heads/__orch_probe__']);
    } catch (error) {
      throw new RemoteError(`cannot reach ${this.remote}: ${firstGitLine(error)}`);
    }
  }

  /** The commits of `shas` the clone does not have. */
  async missing(shas: readonly string[]): Promise<string[]> {
    if (shas.length === 0) return [];
    await this.ensure();
    const result = await execa('git', ['cat-file', '--batch-check=%(objectname) %(objecttype)'], {
      cwd: this.dir,
      input: `${shas.join('\n')}\n`,
      reject: false,
    });
    const present = new Set(
      String(result.stdout)
        .split('\n')
        .filter((line) => line.endsWith(' commit'))
        .map((line) => line.split(' ')[0]),
    );
    return shas.filter((sha) => !present.has(sha));
  }

  /**
   * Makes sure the clone holds these commits, fetching the run's refs (its base, start points and
   * task branches) only when some are missing. Jobs arriving together share one fetch: a job
   * that finds one under way waits for it and looks again before it starts its own.
   */
  async ensureCommits(runId: string, shas: readonly string[]): Promise<void> {
    for (let round = 0; round < 3; round++) {
      const missing = await this.missing(shas);
      if (missing.length === 0) return;
      const current = this.fetching.get(runId);
      if (current && round === 0) {
        await current.catch(() => undefined);
        continue;
      }
      const fetch = this.fetchRun(runId);
      this.fetching.set(runId, fetch);
      try {
        await fetch;
      } finally {
        if (this.fetching.get(runId) === fetch) this.fetching.delete(runId);
      }
    }
    const missing = await this.missing(shas);
    if (missing.length > 0) {
      throw new RemoteError(`${this.remote} does not hold ${missing.map((sha) => sha.slice(0, 9)).join(', ')} under ${runRefs(runId)}/`);
    }
  }

  private async fetchRun(runId: string): Promise<void> {
    const refs = runRefs(runId);
    try {
      await this.git(['fetch', '--quiet', '--no-write-fetch-head', '--prune', '--no-tags', '--', this.remote, `+${refs}/*:${refs}/*`]);
    } catch (error) {
      throw new RemoteError(`cannot fetch from ${this.remote}: ${firstGitLine(error)}`);
    }
  }

  /** The commit a ref names in the clone, if it names one. */
  async resolve(ref: string): Promise<string | undefined> {
    const result = await execa('git', ['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`], {
      cwd: this.dir,
      reject: false,
      stdin: 'ignore',
    });
    return result.exitCode === 0 ? String(result.stdout).trim() : undefined;
  }

  /**
   * Pushes a task branch to its ref on the remote, only if the ref is still where this attempt
   * found it (`expected`, or absent): a second worker running the same task by mistake cannot
   * overwrite the first one's work, and nothing outside `refs/orch/` is ever written.
   */
  async pushTask(runId: string, taskId: string, branch: string, expected: string | undefined): Promise<string> {
    const ref = taskRef(runId, taskId);
    const head = await this.resolve(`refs/heads/${branch}`);
    if (!head) throw new RemoteError(`the branch ${branch} is gone from the worker's clone`);
    if (head === expected) return head;
    try {
      await this.git([
        'push',
        '--quiet',
        '--no-verify',
        `--force-with-lease=${ref}:${expected ?? ''}`,
        '--',
        this.remote,
        `${head}:${ref}`,
      ]);
    } catch (error) {
      throw new RemoteError(`cannot push ${branch} to ${this.remote}: ${firstGitLine(error)}`);
    }
    return head;
  }
}

/** The line of a git error that says what went wrong (`fatal: …`, `error: …`), without the prefix. */
export function firstGitLine(error: unknown): string {
  const lines = errorFirstLine(error) ? String(error instanceof Error ? error.message : error).split('\n') : [];
  const telling = lines.find((line) => /^(fatal|error|remote):/.test(line.trim())) ?? lines[0] ?? 'git failed';
  return telling
    .trim()
    .replace(/^(fatal|error):\s*/, '')
    .slice(0, 300);
}

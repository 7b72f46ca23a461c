import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import type { OrchConfig } from '../config/schema.js';
import { UserError } from '../errors.js';
import type { RunRecord } from '../state/registry.js';
import { firstGitLine } from '../worker/git-line.js';
import { checkRedis } from '../workers/connection.js';
import { CoordinatorGit } from '../workers/coordinator-git.js';
import { WorkersLink } from '../workers/coordinator.js';
import { liveWorkers } from '../workers/directory.js';
import { probeKey } from '../workers/keys.js';
import { parseRedisUrl, redactUrl, type RedisTarget } from '../workers/redis-url.js';
import { hadCredentials, queueNameFor, remoteAllowed, shareableRemote } from '../workers/remote.js';

/** A run's connection to its workers, checked and ready. */
export interface WorkersSetup {
  target: RedisTarget;
  link: WorkersLink;
  git: CoordinatorGit;
  /** The remote as workers see it (no credentials). */
  remote: string;
  warnings: string[];
  /** What the run's registry keeps (no password). */
  record: NonNullable<RunRecord['workers']>;
}

/** How long `run --workers` waits for a worker to take the run's remote (they look every second). */
const WORKERS_WAIT_MS = 10_000;

/** The URL of the coordinator's remote: a remote's name, or a URL or path as given. */
async function remoteUrl(repoRoot: string, remote: string): Promise<string> {
  const named = await execa('git', ['remote', 'get-url', '--', remote], { cwd: repoRoot, reject: false, stdin: 'ignore' });
  if (named.exitCode === 0) return String(named.stdout).trim();
  if (/[/:]/.test(remote)) return remote;
  throw new UserError(
    `--remote ${remote}: this repository has no remote of that name; add one the workers can reach (git remote add ${remote} <url>) or pass --remote <url>.`,
  );
}

/**
 * Everything `run --workers` (and the resume of such a run) checks before it writes anything:
 * the Redis URL parses and the server answers, the remote exists and answers, and at least one
 * live worker takes jobs of that remote (it allows it and could fetch from it). Any failure is
 * one line and exit 2, with the password never shown.
 */
export async function connectWorkers(
  repoRoot: string,
  config: OrchConfig,
  stored?: RunRecord['workers'],
): Promise<WorkersSetup | undefined> {
  const url = config.workers.url;
  if (!url) return undefined;
  if (/:\*\*\*@/.test(url)) {
    throw new UserError(
      `this run's workers are at ${url}, and orch never stores the password: give the URL again with --workers or ORCH_WORKERS.`,
    );
  }
  const target = parseRedisUrl(url, '--workers');
  await checkRedis(target, '--workers');
  const coordinatorRemote = await remoteUrl(repoRoot, config.workers.remote);
  const remote = shareableRemote(coordinatorRemote, repoRoot);
  if (stored && stored.remote !== remote) {
    throw new UserError(
      `this run's code travels through ${stored.remote}; --remote names ${redactUrl(remote)}: drop --remote to keep the run's.`,
    );
  }
  const git = new CoordinatorGit(repoRoot, config.workers.remote);
  try {
    await git.check();
  } catch (error) {
    throw new UserError(
      `cannot reach the remote ${redactUrl(coordinatorRemote)}: ${firstGitLine(error)}; the workers need a remote that both sides can reach.`,
    );
  }
  const warnings: string[] = [];
  if (hadCredentials(coordinatorRemote))
    warnings.push(`the credentials in the remote's URL are not sent to the workers: they use their own git credentials for ${remote}`);
  if (config.agent.command)
    warnings.push('agent.command is not used on workers: each worker runs its own claude (orch worker --claude-bin)');

  const queue = queueNameFor(remote);
  const link = new WorkersLink(target, remote, queue, () => undefined);
  try {
    await link.open();
    await waitForWorkers(link, target, remote, queue);
  } catch (error) {
    await link.close();
    throw error;
  }
  return { target, link, git, remote, warnings, record: { url: target.redacted, remote, queue } };
}

/** Waits until a live worker takes the remote's queue; says why none does when none does. */
async function waitForWorkers(link: WorkersLink, target: RedisTarget, remote: string, queue: string): Promise<void> {
  const deadline = Date.now() + WORKERS_WAIT_MS;
  const redis = link.client;
  for (;;) {
    const workers = await liveWorkers(redis);
    if (workers.some((worker) => worker.queues.includes(queue) && worker.slots > 0)) return;
    // Every worker that allows the remote tried it and failed: no point in waiting.
    const accepting = workers.filter((worker) => remoteAllowed(worker.allow, remote));
    const probes = accepting.length > 0 ? await redis.mget(...accepting.map((worker) => probeKey(queue, worker.id))) : [];
    const failed = probes.length > 0 && probes.every((probe) => probe !== null && probe !== 'ok');
    if (failed || Date.now() >= deadline) {
      const start = `start one on each machine with \`orch worker --connect <url> --workdir <dir> --allow-remote '${remote}'\``;
      if (workers.length === 0) throw new UserError(`no orch worker is connected to ${target.where}: ${start}.`);
      if (accepting.length === 0) {
        const patterns = [...new Set(workers.flatMap((worker) => worker.allow))].join(', ');
        throw new UserError(
          `none of the ${workers.length} live workers on ${target.where} allows ${remote} (their --allow-remote: ${patterns}).`,
        );
      }
      const problems = await redis.mget(...accepting.map((worker) => probeKey(queue, worker.id)));
      const failed = accepting
        .map((worker, index) => ({ worker, problem: problems[index] }))
        .find(({ problem }) => problem && problem !== 'ok');
      if (failed) throw new UserError(`worker ${failed.worker.name} cannot use the remote: ${failed.problem ?? ''}.`);
      throw new UserError(`the workers that allow ${remote} did not take its queue within ${WORKERS_WAIT_MS / 1000} s; see their output.`);
    }
    await sleep(200);
  }
}

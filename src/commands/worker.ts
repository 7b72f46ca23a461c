import { stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { UserError, errorCode } from '../errors.js';
import { chooseSampler, checkSampler } from '../scheduler/sampler.js';
import { parseDuration } from '../util/duration.js';
import type { WorkerEvent } from '../worker/events.js';
import { OrchWorker } from '../worker/worker.js';
import { checkRedis } from '../workers/connection.js';
import { liveWorkers, type WorkerInfo } from '../workers/directory.js';
import { parseRedisUrl, type RedisTarget } from '../workers/redis-url.js';
import { Redis } from 'ioredis';
import { findExecutable } from '../util/which.js';

export interface WorkerRequest {
  cwd: string;
  env: NodeJS.ProcessEnv;
  connect?: string | undefined;
  workdir?: string | undefined;
  slots?: string | undefined;
  allowRemote: string[];
  includeFrom?: string | undefined;
  name?: string | undefined;
  stallTimeout?: string | undefined;
  claudeBin?: string | undefined;
  version: string;
}

/** The Redis URL from `--connect`, or from ORCH_WORKERS. */
function redisTarget(connect: string | undefined, env: NodeJS.ProcessEnv): RedisTarget {
  const url = connect ?? env.ORCH_WORKERS;
  if (!url) throw new UserError('no Redis to connect to: pass --connect redis://host:6379 (or set ORCH_WORKERS).');
  return parseRedisUrl(url, connect ? '--connect' : 'ORCH_WORKERS');
}

async function requireDirectory(dir: string, flag: string): Promise<void> {
  try {
    if ((await stat(dir)).isDirectory()) return;
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
  }
  throw new UserError(`${flag} ${dir} is not a directory.`);
}

/** Everything `orch worker` checks before it starts: any problem is one line and exit 2. */
export async function prepareWorker(request: WorkerRequest, onEvent: (event: WorkerEvent) => void): Promise<OrchWorker> {
  const target = redisTarget(request.connect, request.env);
  if (!request.workdir) throw new UserError('--workdir is required: the folder where this worker keeps its clones and worktrees.');
  const workdir = path.resolve(request.cwd, request.workdir);
  if (request.allowRemote.length === 0) {
    throw new UserError(
      "a worker runs only jobs of remotes it allows: pass --allow-remote <pattern> (a URL or path, with globs: 'git@github.com:acme/*').",
    );
  }
  let slots: number | 'auto' = 'auto';
  if (request.slots !== undefined && request.slots !== 'auto') {
    const value = Number(request.slots);
    if (!/^\d+$/.test(request.slots) || value < 1 || value > 1000)
      throw new UserError(`--slots "${request.slots}" must be "auto" or a number from 1 to 1000.`);
    slots = value;
  }
  const name = request.name ?? hostname();
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(name)) throw new UserError(`--name "${name}" may only hold letters, digits, ".", "_" and "-".`);
  const stallTimeoutMs = request.stallTimeout === undefined ? 30_000 : parseDuration(request.stallTimeout);
  if (stallTimeoutMs === undefined || stallTimeoutMs < 1000) {
    throw new UserError(`--stall-timeout "${request.stallTimeout}" must be a duration of at least 1s, such as 30s.`);
  }
  const includeFrom = request.includeFrom === undefined ? undefined : path.resolve(request.cwd, request.includeFrom);
  if (includeFrom) await requireDirectory(includeFrom, '--include-from');
  const claudeBin = request.claudeBin ?? request.env.ORCH_CLAUDE_BIN ?? 'claude';
  if (!(await findExecutable(claudeBin, request.env, request.cwd))) {
    throw new UserError(
      `claude not found ("${claudeBin}"): install Claude Code on this machine, or point --claude-bin (or ORCH_CLAUDE_BIN) at it.`,
    );
  }
  await checkSampler(request.env);
  await checkRedis(target, request.connect ? '--connect' : 'ORCH_WORKERS');
  return new OrchWorker({
    target,
    workdir,
    slots,
    allow: request.allowRemote,
    includeFrom,
    name,
    stallTimeoutMs,
    claudeBin,
    env: request.env,
    sampler: chooseSampler(request.env),
    version: request.version,
    onEvent,
  });
}

/** `orch workers`: the live workers on a Redis. */
export async function listWorkers(
  connect: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<{ target: RedisTarget; workers: WorkerInfo[] }> {
  const target = redisTarget(connect, env);
  await checkRedis(target, connect ? '--connect' : 'ORCH_WORKERS');
  const redis = new Redis(target.url, { maxRetriesPerRequest: 1, lazyConnect: true });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return { target, workers: await liveWorkers(redis) };
  } finally {
    redis.disconnect();
  }
}

import { probeMachine, systemProbe, type MachineSandbox } from '../agent/sandbox.js';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Worker as QueueWorker, UnrecoverableError, WaitingError, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import pLimit from 'p-limit';
import { configSchema, type OrchConfig } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import { selfIdentity } from '../process/process-info.js';
import { computeLimit } from '../scheduler/limiter.js';
import type { Sampler } from '../scheduler/sampler.js';
import { STATE_DIR } from '../state/paths.js';
import { filesToInclude, includePatterns } from '../worktree/include.js';
import { longLivedConnection } from '../workers/connection.js';
import { advertise, advertisementTtlMs, withdraw, type WorkerInfo } from '../workers/directory.js';
import {
  JOB_VERSION,
  jobPayloadSchema,
  payloadProblem,
  type JobPayload,
  type JobProgress,
  type JobResult,
  type WorkerTag,
} from '../workers/job.js';
import { KEEP_SECONDS, QUEUE_PREFIX, REMOTES_KEY, cancelKey, logsKey, probeKey } from '../workers/keys.js';
import type { RedisTarget } from '../workers/redis-url.js';
import { remoteAllowed } from '../workers/remote.js';
import { readAttemptFiles, runJob, type JobContext } from './attempt.js';
import { RemoteClone } from './clone.js';
import type { WorkerEvent } from './events.js';
import { forgetAgent, reapLeftovers, recordAgent } from './leftovers.js';
import { Workdir } from './workdir.js';
import { lockWorkdir } from './workdir-lock.js';

export interface WorkerOptions {
  target: RedisTarget;
  workdir: string;
  /** Attempts at once: a number, or `auto` (what the machine allows now, like a local run's limit). */
  slots: number | 'auto';
  /** `--allow-remote` patterns: jobs of any other remote are refused. */
  allow: string[];
  /** A checkout on this machine that `.worktreeinclude` files are copied from. */
  includeFrom?: string | undefined;
  name: string;
  /** How long a job's lock lives without renewal: a worker silent for this long has its jobs run elsewhere. */
  stallTimeoutMs: number;
  claudeBin?: string | undefined;
  env: NodeJS.ProcessEnv;
  sampler: Sampler;
  version: string;
  onEvent: (event: WorkerEvent) => void;
  heartbeatMs?: number;
}

/** A remote this worker takes jobs of: its clone and the BullMQ worker on its queue. */
interface Served {
  remote: string;
  clone: RemoteClone;
  consumer: QueueWorker;
}

interface ActiveJob {
  job: Job;
  token: string | undefined;
  payload: JobPayload;
  stop: AbortController;
  kill: AbortController;
  /** The worker is stopping: the job goes back to the queue instead of ending. */
  returning: boolean;
  lost: boolean;
  startedAt: string;
}

const DISCOVER_MS = 1000;
const CANCEL_POLL_MS = 500;
const LOCK_CHECK_MS = 3000;
const PROBE_RETRY_MS = 30_000;
/** The largest output file copied back to the coordinator (the rest stays on the worker). */
const MAX_FILE_CHARS = 8 * 1024 * 1024;

/**
 * `orch worker`: a long-running process per machine that takes attempts from the queues of the
 * remotes it allows and runs them exactly as a local run would (its own clone, a worktree per
 * attempt, the agent in its own process group), pushing each task branch back.
 * It advertises itself (slots, running jobs) with a heartbeat that expires, finds the remotes
 * coordinators announce, stops jobs their coordinator cancels, and, when it is stopped, hands
 * its jobs back to the queue with their work pushed.
 */
export class OrchWorker {
  readonly id: string;
  private readonly workdir: Workdir;
  private readonly tag: WorkerTag;
  private readonly owner = selfIdentity();
  private readonly served = new Map<string, Served>();
  private readonly probeAfter = new Map<string, number>();
  private readonly active = new Map<string, ActiveJob>();
  private readonly limit;
  private readonly baseConfig: OrchConfig;
  private machineSandbox: MachineSandbox = { available: false, why: 'not probed yet', install: '' };
  private readonly includeLists = new Map<string, Promise<string[]>>();
  private readonly cleanups = new Map<string, Promise<void>>();
  private readonly timers: NodeJS.Timeout[] = [];
  private redis: Redis | undefined;
  private slots: number;
  private stopping = false;
  private releaseLock: (() => Promise<void>) | undefined;
  private readonly startedAt = new Date().toISOString();
  private redisDown = false;

  constructor(private readonly options: WorkerOptions) {
    this.id = `${options.name}-${randomUUID().slice(0, 8)}`;
    this.workdir = new Workdir(options.workdir);
    this.tag = { id: this.id, name: options.name, host: hostname() };
    this.slots = options.slots === 'auto' ? 1 : options.slots;
    this.limit = pLimit(this.slots);
    this.baseConfig = configSchema.parse(options.claudeBin ? { agent: { bin: options.claudeBin } } : {});
  }

  private emit(event: WorkerEvent): void {
    this.options.onEvent(event);
  }

  async start(): Promise<void> {
    this.releaseLock = await lockWorkdir(this.workdir, (notice) => this.emit({ type: 'lock', message: notice.message }));
    for (const leftover of await reapLeftovers(this.workdir, this.baseConfig.timeouts.killGrace)) this.emit({ type: 'leftover', leftover });
    this.redis = longLivedConnection(this.options.target, `orch-worker:${this.options.name}`, (message) => {
      if (!this.redisDown) this.emit({ type: 'redis-error', message });
      this.redisDown = true;
    });
    this.redis.on('ready', () => {
      this.redisDown = false;
    });
    if (this.options.slots === 'auto') await this.resample();
    // What the agents' sandbox can have here, once: each job's agent.sandbox decides against it.
    this.machineSandbox = await probeMachine(systemProbe(this.options.env, this.workdir.root));
    await this.heartbeat();
    const every = (ms: number, task: () => Promise<void>): void => {
      this.timers.push(setInterval(() => void task().catch(() => undefined), ms));
    };
    every(this.options.heartbeatMs ?? 2000, () => this.heartbeat());
    every(DISCOVER_MS, () => this.discover());
    every(CANCEL_POLL_MS, () => this.pollCancels());
    every(LOCK_CHECK_MS, () => this.checkLocks());
    if (this.options.slots === 'auto') every(3000, () => this.resample());
    await this.discover();
    this.emit({
      type: 'ready',
      id: this.id,
      name: this.options.name,
      workdir: this.workdir.root,
      slots: this.slots,
      allow: this.options.allow,
      redis: this.options.target.redacted,
      sandbox: this.machineSandbox.available
        ? `sandbox: ${this.machineSandbox.mechanism} (agents are sandboxed unless a run sets agent.sandbox to false)`
        : `sandbox: unavailable: ${this.machineSandbox.why} (runs with agent.sandbox true fail their attempts here; to have it: ${this.machineSandbox.install})`,
    });
  }

  /** Stops taking jobs; running ones are interrupted, their work pushed, and handed back to the queue. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.emit({ type: 'stopping', running: this.active.size });
    await Promise.all([...this.served.values()].map((served) => served.consumer.pause(true)));
    for (const active of this.active.values()) {
      active.returning = true;
      active.stop.abort('user');
    }
    await Promise.all([...this.served.values()].map((served) => served.consumer.close()));
    await Promise.all(this.cleanups.values());
    for (const timer of this.timers) clearInterval(timer);
    if (this.redis) {
      await withdraw(this.redis, this.id).catch(() => undefined);
      this.redis.disconnect();
    }
    await this.releaseLock?.();
    this.emit({ type: 'stopped' });
  }

  /** A second Ctrl-C: the agents are killed now (their jobs still go back to the queue). */
  killNow(): void {
    for (const active of this.active.values()) active.kill.abort();
  }

  private async resample(): Promise<void> {
    const sample = await this.options.sampler();
    const slots = computeLimit({
      sample,
      running: this.active.size,
      concurrency: this.baseConfig.concurrency,
      maxParallel: 'auto',
      sequential: false,
    }).value;
    // Running agents count in the memory figure: never advertise fewer slots than are in use.
    const next = Math.max(slots, this.active.size, 1);
    if (next === this.slots) return;
    this.slots = next;
    this.limit.concurrency = next;
    for (const served of this.served.values()) served.consumer.concurrency = next;
    this.emit({ type: 'slots', slots: next });
  }

  private info(): WorkerInfo {
    return {
      id: this.id,
      name: this.options.name,
      host: this.tag.host,
      pid: process.pid,
      version: this.options.version,
      slots: this.stopping ? 0 : this.slots,
      allow: this.options.allow,
      queues: [...this.served.keys()],
      running: [...this.active.values()].map((active) => ({
        jobId: active.job.id ?? '',
        runId: active.payload.runId,
        taskId: active.payload.task.id,
        startedAt: active.startedAt,
      })),
      startedAt: this.startedAt,
      heartbeatAt: new Date().toISOString(),
    };
  }

  private async heartbeat(): Promise<void> {
    if (!this.redis || this.stopping) return;
    await advertise(this.redis, this.info(), advertisementTtlMs(this.options.heartbeatMs ?? 2000));
  }

  /** Finds the remotes coordinators announced, and starts taking the jobs of those it allows and can fetch. */
  private async discover(): Promise<void> {
    if (!this.redis || this.stopping) return;
    const remotes = await this.redis.hgetall(REMOTES_KEY);
    for (const [queue, remote] of Object.entries(remotes)) {
      if (this.served.has(queue) || !remoteAllowed(this.options.allow, remote)) continue;
      if ((this.probeAfter.get(queue) ?? 0) > Date.now()) continue;
      this.probeAfter.set(queue, Number.POSITIVE_INFINITY);
      // A clone's git lock left by a worker killed holding it is taken over at once: said.
      const clone = new RemoteClone(remote, this.workdir.repo(remote), this.workdir.locks, this.options.env, (notice) =>
        this.emit({ type: 'lock', message: notice.message }),
      );
      try {
        await clone.probe();
      } catch (error) {
        const message = errorMessage(error);
        await this.redis.set(probeKey(queue, this.id), message, 'EX', 60);
        this.probeAfter.set(queue, Date.now() + PROBE_RETRY_MS);
        this.emit({ type: 'probe-failed', remote, message });
        continue;
      }
      if (this.stopping) return;
      const consumer = new QueueWorker(queue, (job, token) => this.process(queue, job, token), {
        connection: this.redis,
        prefix: QUEUE_PREFIX,
        concurrency: this.slots,
        lockDuration: this.options.stallTimeoutMs,
        stalledInterval: this.options.stallTimeoutMs,
        maxStalledCount: 2,
      });
      consumer.on('error', (error) => {
        if (!this.redisDown) this.emit({ type: 'redis-error', message: errorMessage(error) });
      });
      this.served.set(queue, { remote, clone, consumer });
      await this.redis.set(probeKey(queue, this.id), 'ok', 'EX', 60);
      this.emit({ type: 'serving', remote, queue });
      await this.heartbeat();
    }
  }

  /** Coordinators stop jobs by setting their cancel flag: read for every running job. */
  private async pollCancels(): Promise<void> {
    if (!this.redis || this.active.size === 0) return;
    const entries = [...this.active.values()];
    const flags = await this.redis.mget(...entries.map((active) => cancelKey(active.job.id ?? '')));
    entries.forEach((active, index) => {
      const flag = flags[index];
      if (flag === 'stop' || flag === 'kill') active.stop.abort('user');
      if (flag === 'kill') active.kill.abort();
    });
  }

  /**
   * A job whose lock is no longer this worker's (Redis was unreachable for longer than the stall
   * timeout, and the job went to another worker) is stopped here: its work is kept aside, never
   * pushed over the other worker's. BullMQ keeps a job's lock at `<job key>:lock`.
   */
  private async checkLocks(): Promise<void> {
    if (!this.redis || this.redisDown) return;
    for (const [queue, served] of this.served) {
      for (const active of this.active.values()) {
        if (active.lost || active.job.queueName !== queue || !active.token) continue;
        const holder = await this.redis.get(`${served.consumer.toKey(active.job.id ?? '')}:lock`);
        if (holder === active.token) continue;
        active.lost = true;
        active.stop.abort('abort');
        this.emit({ type: 'job-lost', jobId: active.job.id ?? '', taskId: active.payload.task.id });
      }
    }
  }

  private jobConfig(payload: JobPayload): OrchConfig {
    const { settings } = payload;
    const config = structuredClone(this.baseConfig);
    config.agent.permissionMode = settings.permissionMode;
    config.agent.allowedTools = settings.allowedTools;
    config.agent.appendSystemPrompt = settings.appendSystemPrompt;
    config.agent.maxBudgetUsd = settings.maxBudgetUsd;
    config.agent.extraArgs = settings.extraArgs;
    config.timeouts.inactivity = settings.inactivityMs;
    config.timeouts.killGrace = settings.killGraceMs;
    config.timeouts.task = payload.task.timeoutMs;
    config.worktree.setup = settings.setup;
    config.worktree.ports = settings.ports;
    config.worktree.include = settings.include;
    config.agent.sandbox = settings.sandbox;
    config.agent.sandboxNetwork = settings.sandboxNetwork;
    config.agent.disallowedTools = settings.disallowedTools;
    return config;
  }

  /** The untracked files to copy into a run's worktrees: from `--include-from` only, listed once per run. */
  private includeCandidates(payload: JobPayload): () => Promise<string[]> {
    const from = this.options.includeFrom;
    if (!from) return () => Promise.resolve([]);
    return () => {
      let list = this.includeLists.get(payload.runId);
      if (!list) {
        list = includePatterns(from, payload.settings.include).then((patterns) => filesToInclude(from, patterns, [STATE_DIR]));
        this.includeLists.set(payload.runId, list);
      }
      return list;
    };
  }

  /** BullMQ's processor: checks the job, runs it within the worker's slots, and returns its result. */
  private async process(queue: string, job: Job, token: string | undefined): Promise<JobResult> {
    const jobId = job.id ?? '';
    const parsed = jobPayloadSchema.safeParse(job.data);
    if (!parsed.success) {
      const version = (job.data as { version?: unknown } | undefined)?.version;
      const reason =
        version !== JOB_VERSION
          ? `the job is of version ${String(version)}, this worker runs version ${JOB_VERSION}: run the same orch on coordinator and workers`
          : `invalid job: ${payloadProblem(parsed.error)}`;
      this.emit({ type: 'job-refused', jobId, reason });
      throw new UnrecoverableError(reason);
    }
    const payload = parsed.data;
    const served = this.served.get(queue);
    if (!served || payload.remote !== served.remote || !remoteAllowed(this.options.allow, payload.remote)) {
      const reason = `worker ${this.options.name} does not run jobs of ${payload.remote} (--allow-remote)`;
      this.emit({ type: 'job-refused', jobId, reason });
      throw new UnrecoverableError(reason);
    }
    return this.limit(() => this.runActive(served, job, token, payload));
  }

  private async runActive(served: Served, job: Job, token: string | undefined, payload: JobPayload): Promise<JobResult> {
    const jobId = job.id ?? '';
    const active: ActiveJob = {
      job,
      token,
      payload,
      stop: new AbortController(),
      kill: new AbortController(),
      returning: this.stopping,
      lost: false,
      startedAt: new Date().toISOString(),
    };
    if (this.stopping) active.stop.abort('user');
    this.active.set(jobId, active);
    const progress = throttledProgress(job);
    try {
      const cancelled = await this.redis?.get(cancelKey(jobId));
      if (cancelled) active.stop.abort('user');
      progress({ kind: 'worker', worker: this.tag });
      this.emit({
        type: 'job-started',
        jobId,
        runId: payload.runId,
        taskId: payload.task.id,
        attempt: payload.attempt.number,
        coordinator: payload.coordinator,
      });
      void this.heartbeat().catch(() => undefined);
      const context: JobContext = {
        workdir: this.workdir,
        clone: served.clone,
        config: this.jobConfig(payload),
        machineSandbox: this.machineSandbox,
        env: this.options.env,
        owner: this.owner,
        workerName: this.options.name,
        includeRoot: this.options.includeFrom ?? this.workdir.root,
        includeCandidates: this.includeCandidates(payload),
        signal: active.stop.signal,
        kill: active.kill.signal,
        lost: () => active.lost,
        cleanups: this.cleanups,
        progress,
        agentStarted: (identity) => recordAgent(this.workdir, jobId, { identity, runId: payload.runId, taskId: payload.task.id }),
      };
      const outcome = await runJob(context, payload);
      await progress.flush();
      const files = await readAttemptFiles(this.workdir.run(payload.runId), outcome.files, MAX_FILE_CHARS);
      await this.redis?.set(logsKey(jobId), JSON.stringify(files), 'EX', KEEP_SECONDS);
      if (active.returning && outcome.result.outcome.status === 'interrupted' && !active.lost) {
        await job.moveToWait(token);
        this.emit({ type: 'job-returned', jobId, taskId: payload.task.id });
        throw new WaitingError();
      }
      const { outcome: result } = outcome.result;
      this.emit({
        type: 'job-finished',
        jobId,
        taskId: payload.task.id,
        status: result.status,
        reason: result.reason,
        pushed: outcome.pushed,
      });
      return { version: JOB_VERSION, worker: this.tag, result: outcome.result, pushed: outcome.pushed };
    } finally {
      await forgetAgent(this.workdir, jobId);
      this.active.delete(jobId);
      void this.heartbeat().catch(() => undefined);
    }
  }
}

/**
 * Sends a job's progress to the coordinator: everything at once, except activity, which goes at
 * most a few times a second (the latest wins). A progress lost while Redis is away is not retried.
 */
function throttledProgress(job: Job): ((update: JobProgress) => void) & { flush: () => Promise<void> } {
  let pending: JobProgress | undefined;
  let timer: NodeJS.Timeout | undefined;
  let lastSent = 0;
  let inFlight: Promise<void> = Promise.resolve();
  const send = (update: JobProgress): void => {
    lastSent = Date.now();
    inFlight = inFlight.then(() => job.updateProgress(update).catch(() => undefined));
  };
  const flushPending = (): void => {
    timer = undefined;
    if (pending) send(pending);
    pending = undefined;
  };
  const progress = (update: JobProgress): void => {
    if (update.kind !== 'activity') {
      send(update);
      return;
    }
    pending = update;
    const wait = 250 - (Date.now() - lastSent);
    if (wait <= 0) flushPending();
    else timer ??= setTimeout(flushPending, wait);
  };
  return Object.assign(progress, {
    flush: async () => {
      if (timer) clearTimeout(timer);
      flushPending();
      await inFlight;
    },
  });
}

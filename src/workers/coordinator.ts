import { Job, Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Capacity } from '../engine/orchestrator.js';
import { longLivedConnection } from './connection.js';
import { liveWorkers, slotsFor, type WorkerInfo } from './directory.js';
import type { JobPayload } from './job.js';
import { KEEP_SECONDS, QUEUE_PREFIX, REMOTES_KEY, cancelKey, logsKey } from './keys.js';
import type { RedisTarget } from './redis-url.js';

/** How long finished jobs stay in Redis, for a coordinator that died to collect them on resume. */
const KEEP_JOBS = { age: KEEP_SECONDS };

export type JobState = 'waiting' | 'active' | 'completed' | 'failed' | 'missing';

/** A job's end as the queue knows it. */
export type JobEnd = { kind: 'completed'; value: unknown } | { kind: 'failed'; reason: string } | { kind: 'missing' };

export interface JobListener {
  progress(data: unknown): void;
  /** The job ended (completed or failed), as QueueEvents said. */
  ended(): void;
  /** The stalled-job check took the job from a worker that stopped answering. */
  stalled(): void;
}

/**
 * The coordinator's side of the workers' queue (`run --workers`): announces the remote so
 * workers find its queue, queues attempts as jobs, hears their progress and ends through
 * QueueEvents, cancels them, and sums the slots of the live workers that take them.
 */
export class WorkersLink implements Capacity {
  private readonly redis: Redis;
  private readonly eventsConnection: Redis;
  readonly queue: Queue;
  private readonly events: QueueEvents;
  private readonly listeners = new Map<string, JobListener>();
  private lastSlots = 0;
  private workers: WorkerInfo[] = [];

  constructor(
    readonly target: RedisTarget,
    readonly remote: string,
    readonly queueName: string,
    onError: (message: string) => void,
  ) {
    this.redis = longLivedConnection(target, 'orch-coordinator', onError);
    this.eventsConnection = longLivedConnection(target, 'orch-coordinator-events', onError);
    this.queue = new Queue(queueName, { connection: this.redis, prefix: QUEUE_PREFIX });
    this.queue.on('error', () => undefined);
    this.events = new QueueEvents(queueName, { connection: this.eventsConnection, prefix: QUEUE_PREFIX });
    this.events.on('error', () => undefined);
    this.events.on('progress', ({ jobId, data }) => this.listeners.get(jobId)?.progress(data));
    this.events.on('completed', ({ jobId }) => this.listeners.get(jobId)?.ended());
    this.events.on('failed', ({ jobId }) => this.listeners.get(jobId)?.ended());
    this.events.on('stalled', ({ jobId }) => this.listeners.get(jobId)?.stalled());
  }

  /** Ready once QueueEvents listens: events of jobs queued after this are never missed. */
  async open(): Promise<void> {
    await this.events.waitUntilReady();
    await this.announce();
  }

  /** Tells workers this remote has a queue (again after a Redis restart that lost it). */
  async announce(): Promise<void> {
    await this.redis.hset(REMOTES_KEY, this.queueName, this.remote);
  }

  async refresh(): Promise<void> {
    try {
      await this.announce();
      this.workers = await liveWorkers(this.redis);
      this.lastSlots = slotsFor(this.workers, this.queueName);
    } catch {
      // Redis is away: the last known slots stand until it is back.
    }
  }

  slots(): number {
    return this.lastSlots;
  }

  /** The connection for reads of orch's own keys (live workers, probes). */
  get client(): Redis {
    return this.redis;
  }

  liveWorkers(): readonly WorkerInfo[] {
    return this.workers;
  }

  listen(jobId: string, listener: JobListener): () => void {
    this.listeners.set(jobId, listener);
    return () => {
      if (this.listeners.get(jobId) === listener) this.listeners.delete(jobId);
    };
  }

  /** Queues an attempt; a job with this id already queued (by a coordinator that died) is kept as it is. */
  async add(jobId: string, payload: JobPayload): Promise<void> {
    await this.queue.add('attempt', payload, { jobId, attempts: 1, removeOnComplete: KEEP_JOBS, removeOnFail: KEEP_JOBS });
  }

  async state(jobId: string): Promise<JobState> {
    const job = await Job.fromId(this.queue, jobId);
    if (!job) return 'missing';
    const state = await job.getState();
    if (state === 'completed' || state === 'failed' || state === 'active') return state;
    // Delayed, prioritized, waiting: not taken yet.
    return state === 'unknown' ? 'missing' : 'waiting';
  }

  /** How the job ended, if it has. */
  async end(jobId: string): Promise<JobEnd | undefined> {
    const job = await Job.fromId(this.queue, jobId);
    if (!job) return { kind: 'missing' };
    const state = await job.getState();
    if (state === 'completed') return { kind: 'completed', value: job.returnvalue };
    if (state === 'failed') return { kind: 'failed', reason: job.failedReason || 'the job failed' };
    if (state === 'unknown') return { kind: 'missing' };
    return undefined;
  }

  /**
   * Stops a job: one still waiting is taken off the queue (true); a running one is told to stop
   * through its cancel flag, which its worker reads (false: its result still comes).
   */
  async cancel(jobId: string, how: 'stop' | 'kill'): Promise<boolean> {
    await this.redis.set(cancelKey(jobId), how, 'EX', KEEP_SECONDS);
    const job = await Job.fromId(this.queue, jobId);
    if (!job) return true;
    const state = await job.getState();
    if (state === 'active' || state === 'completed' || state === 'failed') return false;
    try {
      await job.remove();
      return true;
    } catch {
      // A worker took it meanwhile: it reads the flag.
      return false;
    }
  }

  /** The output files the worker saved for the job, once (they are deleted when read). */
  async takeFiles(jobId: string): Promise<{ log: string; stderr: string; prompt: string } | undefined> {
    const text = await this.redis.get(logsKey(jobId));
    if (text === null) return undefined;
    await this.redis.del(logsKey(jobId));
    try {
      return JSON.parse(text) as { log: string; stderr: string; prompt: string };
    } catch {
      return undefined;
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.events.close(), this.queue.close()]);
    this.redis.disconnect();
    this.eventsConnection.disconnect();
  }
}

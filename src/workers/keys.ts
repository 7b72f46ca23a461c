/**
 * Where orch keeps things in Redis. BullMQ's own keys (queues, jobs, locks) live under `orch:`;
 * orch's around them (who is alive, which remotes have queues, cancel flags, logs) under
 * `orch-meta:`, so the two can never collide.
 */
export const QUEUE_PREFIX = 'orch';
const META = 'orch-meta';

/** A worker's advertisement, refreshed by its heartbeat: it expires when the worker stops refreshing it. */
export const workerKey = (workerId: string): string => `${META}:worker:${workerId}`;
export const WORKER_KEY_PATTERN = `${META}:worker:*`;

/** Hash: queue name → the remote whose attempts it carries (workers discover queues here). */
export const REMOTES_KEY = `${META}:remotes`;

/** Whether a worker could fetch from a remote: `ok`, or the error it got. */
export const probeKey = (queue: string, workerId: string): string => `${META}:probe:${queue}:${workerId}`;

/** Set when the coordinator stops a job: `stop` (SIGTERM, then SIGKILL after the grace period) or `kill`. */
export const cancelKey = (jobId: string): string => `${META}:cancel:${jobId}`;

/** A finished attempt's output files, until the coordinator has copied them into its run folder. */
export const logsKey = (jobId: string): string => `${META}:logs:${jobId}`;

/** How long cancel flags, probes and logs are kept when nobody collects them. */
export const KEEP_SECONDS = 7 * 24 * 3600;

/** Job ids name the run, the task and the attempt, so a resumed coordinator finds its jobs again. */
export function jobIdFor(runId: string, taskId: string, attempt: number): string {
  return `${runId}.${taskId}.${attempt}`;
}

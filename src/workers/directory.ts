import type { Redis } from 'ioredis';
import { z } from 'zod';
import { WORKER_KEY_PATTERN, workerKey } from './keys.js';

/** What a live worker says about itself, refreshed by its heartbeat. */
export const workerInfoSchema = z.object({
  id: z.string(),
  name: z.string(),
  host: z.string(),
  pid: z.number().int(),
  version: z.string(),
  /** How many attempts it runs at once now (with `--slots auto`, what the machine allows now). */
  slots: z.number().int().min(0),
  /** Its `--allow-remote` patterns. */
  allow: z.array(z.string()),
  /** The queues it takes jobs from: remotes it allows and could fetch. */
  queues: z.array(z.string()),
  running: z.array(z.object({ jobId: z.string(), runId: z.string(), taskId: z.string(), startedAt: z.string() })),
  startedAt: z.string(),
  heartbeatAt: z.string(),
});
export type WorkerInfo = z.infer<typeof workerInfoSchema>;

/** The advertisement lives this long after the last heartbeat: a worker that stops refreshing it is gone. */
export function advertisementTtlMs(heartbeatMs: number): number {
  return heartbeatMs * 4;
}

export async function advertise(redis: Redis, info: WorkerInfo, ttlMs: number): Promise<void> {
  await redis.set(workerKey(info.id), JSON.stringify(info), 'PX', ttlMs);
}

export async function withdraw(redis: Redis, workerId: string): Promise<void> {
  await redis.del(workerKey(workerId));
}

/** Every live worker (an advertisement that has not expired), by name. */
export async function liveWorkers(redis: Redis): Promise<WorkerInfo[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', WORKER_KEY_PATTERN, 'COUNT', 200);
    keys.push(...found);
    cursor = next;
  } while (cursor !== '0');
  if (keys.length === 0) return [];
  const values = await redis.mget(...keys);
  const workers: WorkerInfo[] = [];
  for (const value of values) {
    if (value === null) continue;
    try {
      const parsed = workerInfoSchema.safeParse(JSON.parse(value));
      if (parsed.success) workers.push(parsed.data);
    } catch {
      // Not JSON: not one of ours.
    }
  }
  return workers.sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
}

/** The slots of the live workers that take jobs from a queue: the most attempts that can run at once there. */
export function slotsFor(workers: readonly WorkerInfo[], queue: string): number {
  return workers.filter((worker) => worker.queues.includes(queue)).reduce((total, worker) => total + worker.slots, 0);
}

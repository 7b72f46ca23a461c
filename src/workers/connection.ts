import { Redis, type RedisOptions } from 'ioredis';
import { UserError, errorCode, errorMessage } from '../errors.js';
import { scrubSecret, type RedisTarget } from './redis-url.js';

/**
 * A long-lived connection: it reconnects for ever (a restarted Redis is waited for, not an
 * error) and queues commands meanwhile, as BullMQ requires of its workers' connections.
 * `onError` hears the first error of each outage, not every failed reconnection.
 */
export function longLivedConnection(target: RedisTarget, name: string, onError: (message: string) => void): Redis {
  const redis = new Redis(target.url, {
    connectionName: name,
    maxRetriesPerRequest: null,
    retryStrategy: (times) => Math.min(100 * times, 2000),
  } satisfies RedisOptions);
  let down = false;
  // Without a listener an 'error' event would crash the process; with one, ioredis reconnects.
  redis.on('error', (error: unknown) => {
    if (!down) onError(redisProblem(error, target));
    down = true;
  });
  redis.on('ready', () => {
    down = false;
  });
  return redis;
}

/** One line for a Redis failure, naming the server but never the password. */
export function redisProblem(error: unknown, target: RedisTarget): string {
  const code = errorCode(error);
  const message = scrubSecret(errorMessage(error), target);
  if (code === 'ECONNREFUSED') return `nothing is listening at ${target.where} (connection refused)`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `the host of ${target.where} cannot be resolved`;
  if (code === 'ETIMEDOUT') return `${target.where} did not answer in time`;
  if (/WRONGPASS|NOAUTH|invalid username-password/i.test(message)) return `${target.where} refused the credentials in the URL`;
  return `${target.where}: ${message.split('\n')[0] ?? message}`;
}

/**
 * Connects once, without retrying, and checks the server answers: what `run --workers`, `orch
 * worker` and `orch workers` do before anything else, so a wrong URL is one line and exit 2.
 */
export async function checkRedis(target: RedisTarget, flag: string): Promise<void> {
  const redis = new Redis(target.url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    connectTimeout: 5000,
    retryStrategy: () => null,
  } satisfies RedisOptions);
  let lastError: unknown;
  redis.on('error', (error: unknown) => {
    lastError = error;
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    throw new UserError(`cannot use Redis from ${flag}: ${redisProblem(lastError ?? error, target)}.`);
  } finally {
    redis.disconnect();
  }
}

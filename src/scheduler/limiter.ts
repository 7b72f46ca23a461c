import type { OrchConfig } from '../config/schema.js';
import type { LimitReason } from '../events.js';
import type { ResourceSample } from './sampler.js';

export interface ConcurrencyLimit {
  value: number;
  reason: LimitReason;
}

export interface LimitInput {
  sample: ResourceSample;
  running: number;
  concurrency: OrchConfig['concurrency'];
  maxParallel: OrchConfig['maxParallel'];
  /** The circuit breaker or the fallback pass: one task at a time. */
  sequential: boolean;
}

/**
 * How many agents may run now, and what decides it: the cores, the memory left above the
 * reserve (each agent needs `agentMemoryMb`), the load, or `--max-parallel`. Memory and load
 * only hold back new starts (they count the agents already running); the limit is never below 1.
 */
export function computeLimit(input: LimitInput): ConcurrencyLimit {
  if (input.sequential) return { value: 1, reason: 'sequential' };
  const { sample, running, concurrency } = input;
  const candidates: ConcurrencyLimit[] = [{ value: Math.max(1, Math.round(sample.cores * concurrency.agentsPerCore)), reason: 'cores' }];
  const spareMb = sample.availableMemMb - concurrency.memoryReserveMb;
  candidates.push({ value: running + Math.max(0, Math.floor(spareMb / concurrency.agentMemoryMb)), reason: 'memory' });
  if (sample.loadPerCore > concurrency.maxLoadPerCore) candidates.push({ value: running, reason: 'load' });
  if (input.maxParallel !== 'auto') candidates.push({ value: input.maxParallel, reason: 'max-parallel' });
  // The first of the smallest: cores before memory before load before the cap, for a stable reason.
  const smallest = candidates.reduce((best, candidate) => (candidate.value < best.value ? candidate : best));
  return { value: Math.max(1, smallest.value), reason: smallest.reason };
}

export interface WorkersLimitInput {
  /** The slots of the live workers that take this run's jobs. */
  slots: number;
  maxParallel: OrchConfig['maxParallel'];
  sequential: boolean;
}

/**
 * How many attempts a run with `--workers` may have under way: the live workers' slots, capped
 * by `--max-parallel` and by the sequential mode. Zero when no worker is alive: nothing starts
 * until one is (the coordinator's own machine does not run agents, so its load does not count).
 */
export function workersLimit(input: WorkersLimitInput): ConcurrencyLimit {
  const candidates: ConcurrencyLimit[] = [{ value: Math.max(0, input.slots), reason: 'workers' }];
  if (input.maxParallel !== 'auto') candidates.push({ value: input.maxParallel, reason: 'max-parallel' });
  if (input.sequential) candidates.push({ value: 1, reason: 'sequential' });
  return candidates.reduce((best, candidate) => (candidate.value < best.value ? candidate : best));
}

import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { ApiPressure } from '../../src/scheduler/api-pressure.js';
import { computeLimit, workersLimit, type LimitInput } from '../../src/scheduler/limiter.js';

const concurrency = configSchema.parse({}).concurrency; // 2 per core, 300 MB each, 1024 MB reserve, load 2 per core
const input = (overrides: Partial<Omit<LimitInput, 'sample'>> & { sample?: Partial<LimitInput['sample']> } = {}): LimitInput => ({
  running: 0,
  concurrency,
  maxParallel: 'auto',
  sequential: false,
  ...overrides,
  sample: { cores: 4, availableMemMb: 64_000, loadPerCore: 0.5, ...overrides.sample },
});

describe('computeLimit', () => {
  it('follows the cores on a roomy machine', () => {
    expect(computeLimit(input())).toEqual({ value: 8, reason: 'cores' });
  });

  it('counts the agents that fit in memory above the reserve, on top of those running', () => {
    expect(computeLimit(input({ sample: { availableMemMb: 1024 + 3 * 300 + 100 } }))).toEqual({ value: 3, reason: 'memory' });
    expect(computeLimit(input({ running: 5, sample: { availableMemMb: 1024 + 300 } }))).toEqual({ value: 6, reason: 'memory' });
  });

  it('starts nothing new while memory is below the reserve, but never goes below 1', () => {
    expect(computeLimit(input({ running: 3, sample: { availableMemMb: 500 } }))).toEqual({ value: 3, reason: 'memory' });
    expect(computeLimit(input({ running: 0, sample: { availableMemMb: 500 } }))).toEqual({ value: 1, reason: 'memory' });
  });

  it('starts nothing new while the load is above the threshold', () => {
    expect(computeLimit(input({ running: 2, sample: { loadPerCore: 2.5 } }))).toEqual({ value: 2, reason: 'load' });
  });

  it('is capped by --max-parallel, and is 1 in sequential mode', () => {
    expect(computeLimit(input({ maxParallel: 3 }))).toEqual({ value: 3, reason: 'max-parallel' });
    expect(computeLimit(input({ maxParallel: 20 }))).toEqual({ value: 8, reason: 'cores' });
    expect(computeLimit(input({ sequential: true }))).toEqual({ value: 1, reason: 'sequential' });
  });
});

describe('ApiPressure', () => {
  const config = { backoffBase: 10_000, backoffMax: 60_000, quietPeriod: 30_000 };
  const fixedJitter = () => 1; // the window's full length

  it('pauses on 429 and 529 only', () => {
    const api = new ApiPressure(config, fixedJitter);
    expect(api.signal(500, 0)).toBeUndefined();
    expect(api.signal(429, 0)).toEqual({ until: 10_000, delayMs: 10_000, level: 1 });
    expect(api.isPaused(9_999)).toBe(true);
    expect(api.isPaused(10_000)).toBe(false);
  });

  it('grows exponentially with repeated pressure, up to the maximum', () => {
    const api = new ApiPressure(config, fixedJitter);
    expect(api.signal(429, 0)!.delayMs).toBe(10_000);
    expect(api.signal(529, 10_000)!.delayMs).toBe(20_000);
    expect(api.signal(429, 30_000)!.delayMs).toBe(40_000);
    expect(api.signal(429, 70_000)!.delayMs).toBe(60_000);
  });

  it('does not escalate on reports of the same burst, but honours a longer retry-after', () => {
    const api = new ApiPressure(config, fixedJitter);
    api.signal(429, 0);
    expect(api.signal(429, 1_000)).toBeUndefined();
    expect(api.signal(429, 2_000, 30_000)).toEqual({ until: 32_000, delayMs: 30_000, level: 1 });
    expect(api.signal(429, 40_000)!.level).toBe(2);
  });

  it('steps back down after quiet periods', () => {
    const api = new ApiPressure(config, fixedJitter);
    api.signal(429, 0);
    api.signal(429, 10_000);
    expect(api.signal(429, 10_000 + 20_000 + 2 * 30_000)!).toMatchObject({ level: 1, delayMs: 10_000 });
  });

  it('jitters between half and all of the window, never below retry-after', () => {
    expect(new ApiPressure(config, () => 0).signal(429, 0)!.delayMs).toBe(5_000);
    expect(new ApiPressure(config, () => 0.5).signal(429, 0)!.delayMs).toBe(7_500);
    expect(new ApiPressure(config, () => 0).signal(429, 0, 8_000)!.delayMs).toBe(8_000);
  });
});

describe('workersLimit', () => {
  it.each([
    { slots: 8, maxParallel: 'auto' as const, sequential: false, expected: { value: 8, reason: 'workers' } },
    { slots: 8, maxParallel: 3, sequential: false, expected: { value: 3, reason: 'max-parallel' } },
    { slots: 2, maxParallel: 3, sequential: false, expected: { value: 2, reason: 'workers' } },
    { slots: 8, maxParallel: 'auto' as const, sequential: true, expected: { value: 1, reason: 'sequential' } },
    { slots: 0, maxParallel: 'auto' as const, sequential: true, expected: { value: 0, reason: 'workers' } },
    { slots: 0, maxParallel: 4, sequential: false, expected: { value: 0, reason: 'workers' } },
  ])('$slots slots, max $maxParallel, sequential $sequential → $expected.value ($expected.reason)', ({ expected, ...input }) => {
    expect(workersLimit(input)).toEqual(expected);
  });
});

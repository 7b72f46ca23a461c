import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { systemSampler } from '../../src/scheduler/sampler.js';

describe('systemSampler', () => {
  it.runIf(process.platform === 'linux')("reads Linux's MemAvailable, the logical cores and the 1-minute load", async () => {
    const sample = await systemSampler('linux')();
    const meminfo = await readFile('/proc/meminfo', 'utf8');
    const availableMb = Number(/^MemAvailable:\s+(\d+) kB/m.exec(meminfo)![1]) / 1024;
    expect(sample.cores).toBe(availableParallelism());
    // Memory moves between the two readings: within 5% of what the kernel says.
    expect(Math.abs(sample.availableMemMb - availableMb)).toBeLessThan(availableMb * 0.05);
    expect(sample.loadPerCore).toBeGreaterThanOrEqual(0);
  });

  it('elsewhere asks systeminformation for the available memory (a positive figure)', async () => {
    const sample = await systemSampler('darwin')();
    expect(sample.availableMemMb).toBeGreaterThan(0);
    expect(sample.cores).toBe(availableParallelism());
  });
});

import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import si from 'systeminformation';
import { UserError, errorMessage } from '../errors.js';

/** What the concurrency limit is computed from. */
export interface ResourceSample {
  /** Logical cores. */
  cores: number;
  /** Memory available to new processes (MemAvailable), in MB. */
  availableMemMb: number;
  /** The 1-minute load average divided by the core count. */
  loadPerCore: number;
}

export type Sampler = () => Promise<ResourceSample>;

/**
 * Samples the machine: cores and available memory from systeminformation, the 1-minute load
 * average from the kernel (systeminformation only reports the worst of the 1, 5 and 15-minute
 * averages, which lags by up to a quarter of an hour).
 */
export function systemSampler(): Sampler {
  return async () => {
    const [memory, load] = await Promise.all([si.mem(), si.currentLoad()]);
    const cores = Math.max(1, load.cpus.length);
    return { cores, availableMemMb: memory.available / 1024 / 1024, loadPerCore: (loadavg()[0] ?? 0) / cores };
  };
}

/**
 * Reads samples from a JSON file instead (`ORCH_SAMPLER_FILE`), re-read at every sample:
 * `{"cores": 8, "availableMemMb": 512, "loadPerCore": 0.5}`. For rehearsing how orch behaves on
 * a loaded or small machine, and for tests.
 */
export function fileSampler(file: string): Sampler {
  return async () => {
    let data: Partial<ResourceSample>;
    try {
      data = JSON.parse(await readFile(file, 'utf8')) as Partial<ResourceSample>;
    } catch (error) {
      throw new UserError(`cannot read resource samples from ORCH_SAMPLER_FILE=${file}: ${errorMessage(error)}`);
    }
    const number = (value: unknown, fallback: number): number => (typeof value === 'number' && Number.isFinite(value) ? value : fallback);
    return {
      cores: Math.max(1, number(data.cores, 1)),
      availableMemMb: number(data.availableMemMb, Number.MAX_SAFE_INTEGER),
      loadPerCore: number(data.loadPerCore, 0),
    };
  };
}

export function chooseSampler(env: NodeJS.ProcessEnv): Sampler {
  return env.ORCH_SAMPLER_FILE ? fileSampler(env.ORCH_SAMPLER_FILE) : systemSampler();
}

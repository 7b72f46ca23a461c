import { readFile } from 'node:fs/promises';
import { availableParallelism, freemem, loadavg } from 'node:os';
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
 * Samples the machine: logical cores and the 1-minute load average from the kernel, and the
 * memory available to new processes. On Linux that is MemAvailable, which is what Node's
 * `os.freemem()` reads from /proc/meminfo (instantly, no process started). Elsewhere free pages
 * undercount it (macOS keeps most memory as reclaimable cache), so systeminformation computes it,
 * loaded only there: on Linux its first sample took about half a second before a run's first task
 * could start, and its code was a fifth of what `orch run` loaded.
 */
export function systemSampler(platform: NodeJS.Platform = process.platform): Sampler {
  return async () => {
    const cores = Math.max(1, availableParallelism());
    return { cores, availableMemMb: (await availableMemory(platform)) / 1024 / 1024, loadPerCore: (loadavg()[0] ?? 0) / cores };
  };
}

/** Bytes of memory available to new processes without swapping. */
async function availableMemory(platform: NodeJS.Platform): Promise<number> {
  if (platform === 'linux') return freemem();
  const { default: si } = await import('systeminformation');
  return (await si.mem()).available;
}

/**
 * Reads samples from a JSON file instead (`ORCH_SAMPLER_FILE`), re-read at every sample:
 * `{"cores": 8, "availableMemMb": 512, "loadPerCore": 0.5}`. For rehearsing how orch behaves on
 * a loaded or small machine, and for tests.
 */
export function fileSampler(file: string): Sampler {
  const problem = (why: string): UserError =>
    new UserError(`cannot read resource samples from ORCH_SAMPLER_FILE=${file}: ${why}; fix the file or unset ORCH_SAMPLER_FILE.`);
  return async () => {
    let data: unknown;
    try {
      data = JSON.parse(await readFile(file, 'utf8'));
    } catch (error) {
      throw problem(errorMessage(error));
    }
    if (typeof data !== 'object' || data === null || Array.isArray(data)) throw problem('it must hold a JSON object');
    const fields = data as Record<string, unknown>;
    for (const [key, value] of Object.entries(fields)) {
      if (!SAMPLE_KEYS.includes(key as keyof ResourceSample)) throw problem(`unknown key "${key}" (known: ${SAMPLE_KEYS.join(', ')})`);
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw problem(`"${key}" must be a number of at least 0`);
    }
    const number = (key: keyof ResourceSample, fallback: number): number => (fields[key] as number | undefined) ?? fallback;
    return {
      cores: Math.max(1, number('cores', 1)),
      availableMemMb: number('availableMemMb', Number.MAX_SAFE_INTEGER),
      loadPerCore: number('loadPerCore', 0),
    };
  };
}

const SAMPLE_KEYS: ReadonlyArray<keyof ResourceSample> = ['cores', 'availableMemMb', 'loadPerCore'];

/** A samples file is read once before a run starts: a broken one is bad input, not a run that aborts. */
export async function checkSampler(env: NodeJS.ProcessEnv): Promise<void> {
  if (env.ORCH_SAMPLER_FILE) await fileSampler(env.ORCH_SAMPLER_FILE)();
}

export function chooseSampler(env: NodeJS.ProcessEnv): Sampler {
  return env.ORCH_SAMPLER_FILE ? fileSampler(env.ORCH_SAMPLER_FILE) : systemSampler();
}

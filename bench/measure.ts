/**
 * How the benchmarks measure: wall time with the monotonic clock, memory as the peak of the
 * summed resident memory of a whole process tree (a command and every process it starts,
 * sampled from /proc), so both sides of a comparison are measured the same way.
 */
import { spawn } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';

export interface Measurement {
  wallMs: number;
  /** Peak of the summed RSS of the command's process tree, in MB. */
  peakTreeRssMb: number;
  /** The same without the processes `exclude` names (equal to peakTreeRssMb without it). */
  peakOwnRssMb: number;
  stdout: string;
}

/** The pid → parent pid table of every process on the machine. */
async function parents(): Promise<Map<number, number>> {
  const table = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      table.set(Number(entry), Number(fields[1]));
    } catch {
      // gone between the listing and the read
    }
  }
  return table;
}

/** `root` and every process descending from it now. */
async function tree(root: number): Promise<number[]> {
  const table = await parents();
  const members = [root];
  for (let index = 0; index < members.length; index++) {
    for (const [pid, parent] of table) if (parent === members[index]) members.push(pid);
  }
  return members;
}

async function rssKb(pid: number): Promise<number> {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

export interface MeasureOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Leave these processes of the tree out of the memory figure (e.g. the agents, which are not orch's). */
  exclude?: (commandLine: string) => boolean;
  /** Sampling period of the memory figure. */
  sampleMs?: number;
  /** Given on stdin. */
  input?: string;
}

async function commandLine(pid: number): Promise<string> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/** Runs a command to its end, sampling its process tree's memory; rejects if it exits non-zero. */
export function measure(command: string, args: readonly string[], options: MeasureOptions): Promise<Measurement> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, [...args], {
      cwd: options.cwd,
      env: options.env,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    let peakKb = 0;
    let peakOwnKb = 0;
    let sampling = false;
    const sample = async (): Promise<void> => {
      if (sampling || child.pid === undefined) return;
      sampling = true;
      try {
        let total = 0;
        let own = 0;
        for (const pid of await tree(child.pid)) {
          const rss = await rssKb(pid);
          total += rss;
          if (!options.exclude?.(await commandLine(pid))) own += rss;
        }
        peakKb = Math.max(peakKb, total);
        peakOwnKb = Math.max(peakOwnKb, own);
      } finally {
        sampling = false;
      }
    };
    const timer = setInterval(() => void sample(), options.sampleMs ?? 20);
    child.on('exit', (code) => {
      clearInterval(timer);
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      if (code !== 0) reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr.slice(-800)}`));
      else resolve({ wallMs, peakTreeRssMb: peakKb / 1024, peakOwnRssMb: peakOwnKb / 1024, stdout });
    });
  });
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export function spread(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)]!, min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

/** "2.67 s (2.41–3.05)" */
export function formatSpread(value: Spread, unit: string, digits = 2, scale = 1): string {
  const f = (n: number): string => (n / scale).toFixed(digits);
  return `${f(value.median)} ${unit} (${f(value.min)}–${f(value.max)})`;
}

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
  /**
   * The same, counting only the tree's processes in the command's own process group: what the
   * command itself runs (for orch: orch and the git processes it starts), without the process
   * groups it starts (orch starts each agent in a group of its own, and the agent's children
   * stay in it). Equal to peakTreeRssMb for a command that starts no process group.
   */
  peakGroupRssMb: number;
  /** Peak RSS of the command's own process alone, in MB. */
  peakRootRssMb: number;
  stdout: string;
}

interface ProcessLinks {
  parent: number;
  group: number;
}

/** The pid → (parent pid, process group) table of every process on the machine. */
async function processTable(): Promise<Map<number, ProcessLinks>> {
  const table = new Map<number, ProcessLinks>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      // After "pid (comm) ": state, ppid, pgrp, …
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      table.set(Number(entry), { parent: Number(fields[1]), group: Number(fields[2]) });
    } catch {
      // gone between the listing and the read
    }
  }
  return table;
}

/** `root` and every process descending from it now, each with its process group. */
async function tree(root: number): Promise<Array<{ pid: number; group: number | undefined }>> {
  const table = await processTable();
  const members = [root];
  for (let index = 0; index < members.length; index++) {
    for (const [pid, links] of table) if (links.parent === members[index]) members.push(pid);
  }
  return members.map((pid) => ({ pid, group: table.get(pid)?.group }));
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
  /** Sampling period of the memory figure. */
  sampleMs?: number;
  /** Given on stdin. */
  input?: string;
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
    let peakGroupKb = 0;
    let peakRootKb = 0;
    let sampling = false;
    const sample = async (): Promise<void> => {
      if (sampling || child.pid === undefined) return;
      sampling = true;
      try {
        const members = await tree(child.pid);
        // The command was started without a group of its own: its group is the one it runs in.
        const group = members[0]?.group;
        let total = 0;
        let inGroup = 0;
        let root = 0;
        for (const member of members) {
          const rss = await rssKb(member.pid);
          total += rss;
          if (member.group === group) inGroup += rss;
          if (member.pid === child.pid) root = rss;
        }
        peakKb = Math.max(peakKb, total);
        peakGroupKb = Math.max(peakGroupKb, inGroup);
        peakRootKb = Math.max(peakRootKb, root);
      } finally {
        sampling = false;
      }
    };
    const timer = setInterval(() => void sample(), options.sampleMs ?? 20);
    child.on('exit', (code) => {
      clearInterval(timer);
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      if (code !== 0) reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr.slice(-800)}`));
      else
        resolve({
          wallMs,
          peakTreeRssMb: peakKb / 1024,
          peakGroupRssMb: peakGroupKb / 1024,
          peakRootRssMb: peakRootKb / 1024,
          stdout,
        });
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

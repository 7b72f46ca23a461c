import { readFile, readdir } from 'node:fs/promises';

/** Pids of live (non-zombie) processes other than this one for which `matches` holds. */
async function liveProcesses(matches: (pid: string) => Promise<boolean>): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      if (await matches(entry)) pids.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

/** Pids of live processes whose command line contains `text`. */
export function processesWithCommandLine(text: string): Promise<number[]> {
  return liveProcesses(async (pid) => (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replace(/\0/g, ' ').includes(text));
}

/** Pids of live processes whose environment holds `variable` (NAME=value) exactly. */
export function processesWithEnv(variable: string): Promise<number[]> {
  return liveProcesses(async (pid) => (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0').includes(variable));
}

/**
 * Kills every live process with `variable` in its environment that is still alive after a
 * moment's grace (processes already exiting, like an orchestrator releasing its lock after its
 * last write, get that moment), and returns their pids.
 */
export async function killProcessesWith(variable: string, graceMs = 3_000): Promise<number[]> {
  const deadline = Date.now() + graceMs;
  let pids = await processesWithEnv(variable);
  while (pids.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    pids = await processesWithEnv(variable);
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  return pids;
}

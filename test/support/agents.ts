import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, expect } from 'vitest';
import { projectRoot } from './orch.js';
import { tempDir } from './tmp.js';

export const fakeClaude = path.join(projectRoot, 'test', 'fixtures', 'fake-claude.mjs');

/** The environment that makes orch use the scripted fake agent, recording starts in `stateDir`. */
export function fakeAgentEnv(stateDir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ORCH_CLAUDE_BIN: fakeClaude, FAKE_CLAUDE_STATE: stateDir, ...extra };
}

/**
 * A resource sample file (ORCH_SAMPLER_FILE) describing a roomy machine, for tests that need
 * tasks to run in parallel whatever the load of the machine running the tests.
 */
export async function roomyMachine(dir: string, sample: object = { cores: 8, availableMemMb: 64_000, loadPerCore: 0 }): Promise<string> {
  const file = path.join(dir, 'sample.json');
  await writeFile(file, JSON.stringify(sample));
  return file;
}

/** A prompt section that scripts the fake agent (see test/fixtures/fake-claude.mjs). */
export function agentScript(script: object): string {
  return `\n\`\`\`fake-agent\n${JSON.stringify(script)}\n\`\`\`\n`;
}

export interface AgentStart {
  taskId: string;
  start: number;
  pid: number;
  cwd: string;
  args: string[];
  resume: string | null;
  env: Record<string, string>;
  at: string;
}

export async function agentStarts(stateDir: string): Promise<AgentStart[]> {
  try {
    const text = await readFile(path.join(stateDir, 'starts.ndjson'), 'utf8');
    return text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as AgentStart);
  } catch {
    return [];
  }
}

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

/** Pids of live processes whose environment mentions `marker`. */
export function processesWithEnv(marker: string): Promise<number[]> {
  return liveProcesses(async (pid) => (await readFile(`/proc/${pid}/environ`, 'utf8')).includes(marker));
}

/**
 * Kills every process a test started (found by its private state directory in the environment)
 * that is still alive after a moment's grace, and returns their pids: a test that finished
 * cleanly leaves none. The grace covers processes that are already exiting (an orchestrator
 * releasing its lock after writing its final registry).
 */
export async function killStrays(stateDir: string, graceMs = 3_000): Promise<number[]> {
  const marker = `FAKE_CLAUDE_STATE=${stateDir}`;
  const deadline = Date.now() + graceMs;
  let pids = await processesWithEnv(marker);
  while (pids.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    pids = await processesWithEnv(marker);
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

const stateDirs: string[] = [];

/**
 * A private state folder for the fake agent (FAKE_CLAUDE_STATE). After each test, any process
 * still running with it in its environment fails the test (and is killed): a test leaves none.
 */
export async function agentState(): Promise<string> {
  const dir = await tempDir('orch-agent-');
  stateDirs.push(dir);
  return dir;
}

afterEach(async () => {
  for (const dir of stateDirs.splice(0)) expect(await killStrays(dir)).toEqual([]);
});

/** Fake agent steps that write a file and commit it. */
export function finishes(file: string): object[] {
  return [{ write: file, content: `${file}\n` }, { commit: `add ${file}` }];
}

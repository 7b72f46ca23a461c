import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { projectRoot } from './orch.js';
import { killProcessesWith } from './processes.js';
import { tempDir } from './tmp.js';

export { processesWithCommandLine, processesWithEnv } from './processes.js';

export const fakeClaude = path.join(projectRoot, 'test', 'fixtures', 'fake-claude');

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

/**
 * Every fake agent's life, from its first line to its last (an agent killed with SIGKILL has no
 * end: Infinity), in ms since the epoch: how many agents ran at once, which the run's limit caps
 * (a task's `running` in the ledger also covers saving its work after its agent exited).
 */
export async function agentIntervals(stateDir: string): Promise<Array<{ taskId: string; start: number; end: number; status: string }>> {
  let ends = '';
  try {
    ends = await readFile(path.join(stateDir, 'ends.ndjson'), 'utf8');
  } catch {
    // No agent ended yet.
  }
  const endOf = new Map(
    ends
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { taskId: string; pid: number; at: string })
      .map((end) => [`${end.taskId}:${end.pid}`, Date.parse(end.at)]),
  );
  return (await agentStarts(stateDir)).map((start) => ({
    taskId: start.taskId,
    start: Date.parse(start.at),
    end: endOf.get(`${start.taskId}:${start.pid}`) ?? Number.POSITIVE_INFINITY,
    status: 'agent',
  }));
}

/** A private state folder for the fake agent (FAKE_CLAUDE_STATE); the processes a test leaves are checked for every test (see setup.ts). */
export async function agentState(): Promise<string> {
  return tempDir('orch-agent-');
}

/** Kills a test's agents that it left running on purpose, and returns their pids. */
export function killStrays(stateDir: string, graceMs = 3_000): Promise<number[]> {
  return killProcessesWith(`FAKE_CLAUDE_STATE=${stateDir}`, graceMs);
}

/** Fake agent steps that write a file and commit it. */
export function finishes(file: string): object[] {
  return [{ write: file, content: `${file}\n` }, { commit: `add ${file}` }];
}

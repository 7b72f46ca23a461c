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

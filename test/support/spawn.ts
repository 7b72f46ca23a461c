import { execa, type ResultPromise } from 'execa';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach } from 'vitest';
import type { Registry } from '../../src/state/registry.js';
import { agentStarts, fakeAgentEnv } from './agents.js';
import { orchBin } from './orch.js';
import { readRunRegistry } from './run-state.js';

const started: ResultPromise[] = [];

afterEach(() => {
  for (const child of started.splice(0)) child.kill('SIGKILL');
});

/** Starts the built orch in the background; the test drives it (signals) and awaits it. */
export function startOrch(args: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv }) {
  const child = execa(process.execPath, [orchBin, ...args], {
    cwd: options.cwd,
    env: { ...process.env, FORCE_COLOR: '0', ...options.env },
    reject: false,
    stdin: 'ignore',
  });
  started.push(child);
  return child;
}

/** Polls until `check` returns a value (not undefined/false), or fails after `timeoutMs`. */
export async function waitFor<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch {
      // not yet (a file not written yet, a half-written state)
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/**
 * Starts `orch run` with the fake agent and returns once the first task's agent has really
 * started (it recorded its start) and its pid is in the registry: only then is it safe to
 * signal or kill anything.
 */
export async function startOrchWithRunningAgent(repo: string, args: readonly string[], state: string, env: NodeJS.ProcessEnv = {}) {
  const orch = startOrch(args, { cwd: repo, env: fakeAgentEnv(state, env) });
  await waitFor(async () => (await agentStarts(state)).length > 0, 20_000, 'the agent to start');
  const registry: Registry = await waitFor(
    async () => {
      const current = await readRunRegistry(repo);
      return current.tasks.some((task) => task.agent) ? current : undefined;
    },
    20_000,
    'the agent’s pid in the registry',
  );
  return { orch, registry };
}

import { execa, type ResultPromise } from 'execa';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach } from 'vitest';
import { orchBin } from './orch.js';

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
export async function waitFor<T>(check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000, what = 'condition'): Promise<T> {
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

import { execa, type Result } from 'execa';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const orchBin = path.join(projectRoot, 'bin', 'orch.js');

export interface OrchRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs the built `orch` binary for real, as a user would. */
export async function runOrch(
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<OrchRun> {
  const result: Result = await execa(process.execPath, [orchBin, ...args], {
    cwd: options.cwd,
    env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1', ...options.env },
    reject: false,
    timeout: options.timeoutMs ?? 100_000,
    stdin: 'ignore',
  });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { UserError } from '../errors.js';
import { runPaths, runPathsIn, startingDir } from '../state/paths.js';
import { newRunId } from './create-run.js';
import { prepareRun, type RunRequest } from './run.js';
import { pathExists } from '../util/fs.js';

const ORCH_BIN = fileURLToPath(new URL('../../bin/orch.js', import.meta.url));
const START_TIMEOUT_MS = 60_000;

export interface DetachedRun {
  runId: string;
  pid: number;
  log: string;
}

/**
 * `orch run … --detach`: checks everything in the foreground (bad input still exits 2 at once,
 * with nothing written), then hands the run to a background orch process in its own session,
 * whose output goes to the run folder's orch.log. Returns once that process has created the run.
 */
export async function startDetached(request: RunRequest, argv: readonly string[]): Promise<DetachedRun> {
  const prepared = await prepareRun(request);
  const runId = newRunId();
  const paths = runPaths(prepared.repoRoot, runId);
  // The log starts in the folder the run is put together in, and moves with it into runs/.
  const staging = runPathsIn(startingDir(prepared.repoRoot, runId));
  await mkdir(staging.dir, { recursive: true });
  const log = openSync(staging.orchLog, 'a');
  const args = [ORCH_BIN, ...argv.filter((arg) => arg !== '--detach'), '--run-id', runId];
  const child = spawn(process.execPath, args, { cwd: request.cwd, env: request.env, detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  let exitCode: number | undefined;
  child.once('exit', (code) => {
    exitCode = code ?? 1;
  });
  child.unref();

  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await pathExists(paths.registry)) return { runId, pid: child.pid ?? -1, log: paths.orchLog };
    if (exitCode !== undefined) {
      // A run that finishes at once may have exited after the check above.
      if (await pathExists(paths.registry)) return { runId, pid: child.pid ?? -1, log: paths.orchLog };
      // It stopped before the run existed: show its error, leave nothing behind.
      const output = (await readFile(staging.orchLog, 'utf8').catch(() => '')).trim().split('\n');
      await rm(staging.dir, { recursive: true, force: true });
      const message = output.at(-1)?.replace(/^orch: /, '') || `the background orch exited ${exitCode} before the run started`;
      throw new UserError(message, exitCode === 0 ? 1 : exitCode);
    }
    await sleep(50);
  }
  throw new UserError(`the background run ${runId} did not start within ${START_TIMEOUT_MS / 1000} s; see ${staging.orchLog}`, 1);
}

import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, open, rm, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { EXIT } from '../domain/exit-codes.js';
import { UserError } from '../errors.js';
import { runPaths, runPathsIn, startingDir } from '../state/paths.js';
import { readRegistry } from '../state/registry-file.js';
import { pathExists } from '../util/fs.js';
import { newRunId } from './create-run.js';
import { prepareMerge, type MergeRequest } from './merge.js';
import { prepareResume, type ResumeRequest } from './resume.js';
import { prepareRun, type RunRequest } from './run.js';

const ORCH_BIN = fileURLToPath(new URL('../../bin/orch.js', import.meta.url));
const START_TIMEOUT_MS = 60_000;

/**
 * The flags bin/orch.js gives node for a run (the young generation's size…): its second line, read
 * by /bin/sh, sets them as `flags='…'` before it starts node. A background orch gets them too,
 * though it is started as `node bin/orch.js`.
 */
export function shebangNodeFlags(binText: string): string[] {
  const [first = '', second = ''] = binText.split('\n', 2);
  if (!/^#!\/bin\/sh\s*$/.test(first)) return [];
  const flags = /^':' \/\/;\s*flags='((?:\s*-[^\s']+)*)\s*'/.exec(second)?.[1] ?? '';
  return flags.split(/\s+/).filter((flag) => flag.length > 0);
}

export interface DetachedRun {
  runId: string;
  pid: number;
  log: string;
}

interface Launch {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** The orch command line for the background process. */
  args: string[];
  /** Where its output goes (appended). */
  log: string;
  /** Whether the background process has taken the run over (so the launcher may return). */
  started: (pid: number) => Promise<boolean>;
  /** What to remove when it stopped before that. */
  cleanUp: () => Promise<void>;
}

/**
 * Starts an orch command in the background, in its own session, with its output appended to
 * `log`, and waits until it has taken the run over. When it stops before that, its last line
 * of output is the error, with its exit code.
 */
async function launch(spec: Launch): Promise<number> {
  // A resumed run's log already holds earlier output: only what this process writes counts.
  const logOffset = await stat(spec.log).then(
    (info) => info.size,
    () => 0,
  );
  const log = openSync(spec.log, 'a');
  const child = spawn(process.execPath, [...shebangNodeFlags(readFileSync(ORCH_BIN, 'utf8')), ORCH_BIN, ...spec.args], {
    cwd: spec.cwd,
    env: spec.env,
    detached: true,
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  let exitCode: number | undefined;
  child.once('exit', (code) => {
    exitCode = code ?? EXIT.failed;
  });
  child.unref();
  const pid = child.pid ?? -1;

  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await spec.started(pid)) return pid;
    if (exitCode !== undefined) {
      // A run that finishes at once may have exited after the check above.
      if (await spec.started(pid)) return pid;
      // It stopped before it took the run over: show its error, leave nothing behind.
      const output = (await readFrom(spec.log, logOffset)).trim().split('\n');
      await spec.cleanUp();
      const message = output.at(-1)?.replace(/^orch: /, '') || `the background orch exited ${exitCode} before the run started`;
      throw new UserError(message, exitCode === 0 ? EXIT.failed : exitCode);
    }
    await sleep(50);
  }
  throw new UserError(
    `the background orch (pid ${pid}) did not take the run over within ${START_TIMEOUT_MS / 1000} s; see ${spec.log}`,
    EXIT.failed,
  );
}

async function readFrom(file: string, offset: number): Promise<string> {
  try {
    const handle = await open(file, 'r');
    try {
      const { size } = await handle.stat();
      const buffer = Buffer.alloc(Math.max(0, size - offset));
      await handle.read(buffer, 0, buffer.length, offset);
      return buffer.toString('utf8');
    } finally {
      await handle.close();
    }
  } catch {
    return '';
  }
}

/**
 * `orch run … --detach`: checks everything in the foreground (bad input still exits 2 at once,
 * with nothing written), then hands the run to a background orch process in its own session,
 * whose output goes to the run folder's orch.log. Returns once that process has created the run.
 */
export async function startDetached(request: RunRequest, argv: readonly string[]): Promise<DetachedRun> {
  const prepared = await prepareRun(request);
  // The background process connects to the workers itself.
  await prepared.workers?.link.close();
  const runId = newRunId();
  const paths = runPaths(prepared.repoRoot, runId);
  // The log starts in the folder the run is put together in, and moves with it into runs/.
  const staging = runPathsIn(startingDir(prepared.repoRoot, runId));
  await mkdir(staging.dir, { recursive: true });
  const pid = await launch({
    cwd: request.cwd,
    env: request.env,
    args: [...argv.filter((arg) => arg !== '--detach'), '--run-id', runId],
    log: staging.orchLog,
    started: () => pathExists(paths.registry),
    cleanUp: () => rm(staging.dir, { recursive: true, force: true }),
  });
  return { runId, pid, log: paths.orchLog };
}

/**
 * `orch resume … --detach`: the resume's checks in the foreground, then a background
 * `orch resume <run-id>` that takes the run over; returns once the registry names it as the
 * run's orchestrator. Its output is appended to the run's orch.log.
 */
export async function resumeDetached(request: ResumeRequest, argv: readonly string[]): Promise<DetachedRun> {
  const { paths, registry, workers } = await prepareResume(request);
  await workers?.link.close();
  const runId = registry.run.id;
  // The run id is pinned: "the latest run" could be another one by the time the background process looks.
  const args = ['resume', runId, ...argv.slice(1).filter((arg) => arg !== '--detach' && arg !== request.runId)];
  const pid = await launch({
    cwd: request.cwd,
    env: request.env,
    args,
    log: paths.orchLog,
    started: async (candidate) => {
      const current = await readRegistry(paths.registry).catch(() => undefined);
      return current?.run.orchestrator.pid === candidate && current.run.sessions.length > registry.run.sessions.length;
    },
    cleanUp: async () => undefined,
  });
  return { runId, pid, log: paths.orchLog };
}

/**
 * `orch merge … --detach`: the merge's checks in the foreground, then a background
 * `orch merge <run-id>` that integrates the run; returns once the registry names it as the merge
 * session's orchestrator. Its output is appended to the run's orch.log.
 */
export async function mergeDetached(request: MergeRequest, argv: readonly string[]): Promise<DetachedRun> {
  const { paths, registry } = await prepareMerge(request);
  const runId = registry.run.id;
  const earlier = registry.run.merge?.startedAt;
  // The run id is pinned, as for resume: "the latest run" could be another one by then.
  const args = ['merge', runId, ...argv.slice(1).filter((arg) => arg !== '--detach' && arg !== request.runId)];
  const pid = await launch({
    cwd: request.cwd,
    env: request.env,
    args,
    log: paths.orchLog,
    started: async (candidate) => {
      const current = await readRegistry(paths.registry).catch(() => undefined);
      const merge = current?.run.merge;
      return merge?.orchestrator?.pid === candidate && merge.startedAt !== earlier;
    },
    cleanUp: async () => undefined,
  });
  return { runId, pid, log: paths.orchLog };
}

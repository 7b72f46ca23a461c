import { execa, type ResultPromise } from 'execa';
import path from 'node:path';
import { afterEach } from 'vitest';
import { fakeAgentEnv } from './agents.js';
import { git, tempRepo } from './git.js';
import { orchBin } from './orch.js';
import { waitFor } from './spawn.js';
import { tempDir } from './tmp.js';

/** Commits made on a worker need an identity; a real worker machine has its own. */
export const GIT_IDENTITY = {
  GIT_AUTHOR_NAME: 'Worker',
  GIT_AUTHOR_EMAIL: 'worker@example.com',
  GIT_COMMITTER_NAME: 'Worker',
  GIT_COMMITTER_EMAIL: 'worker@example.com',
};

export interface WorkerProcess {
  name: string;
  workdir: string;
  child: ResultPromise;
  /** Everything it printed so far. */
  output(): string;
  /** Waits until its output holds `text`. */
  waitForOutput(text: string | RegExp, timeoutMs?: number): Promise<void>;
  /** SIGTERM (its graceful stop) and wait for it to exit. */
  stop(): Promise<void>;
}

const running: WorkerProcess[] = [];

afterEach(async () => {
  for (const worker of running.splice(0)) {
    worker.child.kill('SIGKILL');
    await worker.child.catch(() => undefined);
  }
});

/** Starts `orch worker` (the built binary) for real, and returns once it says it is ready. */
export async function startWorker(options: {
  redisUrl: string;
  name: string;
  state: string;
  workdir?: string;
  slots?: number;
  allow?: string[];
  args?: string[];
  env?: NodeJS.ProcessEnv;
}): Promise<WorkerProcess> {
  const workdir = options.workdir ?? (await tempDir(`orch-${options.name}-`));
  const args = [
    orchBin,
    'worker',
    '--connect',
    options.redisUrl,
    '--workdir',
    workdir,
    '--name',
    options.name,
    '--slots',
    String(options.slots ?? 2),
    ...(options.allow ?? ['/**']).flatMap((pattern) => ['--allow-remote', pattern]),
    ...(options.args ?? []),
  ];
  const child = execa(process.execPath, args, {
    env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1', ...GIT_IDENTITY, ...fakeAgentEnv(options.state), ...options.env },
    reject: false,
    stdin: 'ignore',
    all: true,
  });
  let text = '';
  child.all?.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  const worker: WorkerProcess = {
    name: options.name,
    workdir,
    child,
    output: () => text,
    waitForOutput: async (expected, timeoutMs = 30_000) => {
      await waitFor(
        () => (typeof expected === 'string' ? text.includes(expected) : expected.test(text)),
        timeoutMs,
        `worker ${options.name} to print ${String(expected)} (it printed: ${text})`,
      );
    },
    stop: async () => {
      child.kill('SIGTERM');
      await child;
    },
  };
  running.push(worker);
  await Promise.race([
    worker.waitForOutput(`worker ${options.name} ready`),
    child.then(() => {
      throw new Error(`orch worker ${options.name} exited: ${text}`);
    }),
  ]);
  return worker;
}

/** A repository whose `origin` is a bare repository in a temp folder: the remote workers reach. */
export async function repoWithRemote(files?: Record<string, string>): Promise<{ repo: string; remote: string }> {
  const repo = await tempRepo(files);
  const remote = path.join(await tempDir('orch-remote-'), 'remote.git');
  await git(path.dirname(remote), 'init', '-q', '--bare', remote);
  await git(repo, 'remote', 'add', 'origin', remote);
  await git(repo, 'push', '-q', 'origin', 'main');
  return { repo, remote };
}

/** What `orch run`/`resume` need to send a run to the workers. */
export function coordinatorEnv(redisUrl: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ORCH_WORKERS: redisUrl, ...extra };
}

export { execa };

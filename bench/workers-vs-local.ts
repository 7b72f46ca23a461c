/**
 * `run --workers` against a local run doing the same work, side by side in one run: 16 tasks
 * whose agents work 2 s each, on two workers with 4 slots each (two `orch worker` processes on
 * this machine, a real redis-server, a bare repository as the remote) against one local run with
 * 8 slots; then the same with no-op agents, for the queue's own cost per task. Every run is
 * verified (each task's branch is on the coordinator and holds its output).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { initBenchRepo } from './repo.js';
import { measure, spread, type Spread } from './measure.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const orch = path.join(here, '..', 'bin', 'orch.js');
const sleepAgent = path.join(here, 'sleep-agent.sh');
const noopAgent = path.join(here, 'noop-agent.sh');
const IDENTITY = {
  GIT_AUTHOR_NAME: 'bench',
  GIT_AUTHOR_EMAIL: 'bench@example.com',
  GIT_COMMITTER_NAME: 'bench',
  GIT_COMMITTER_EMAIL: 'bench@example.com',
};

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Waits until a child process prints `text`. */
function printed(child: ChildProcess, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(text)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`exited ${code} before printing "${text}": ${output}`)));
  });
}

async function freshRepo(dir: string, remote: string, ids: readonly string[]): Promise<string> {
  const repo = await mkdtemp(path.join(dir, 'repo-'));
  const git = await initBenchRepo(repo);
  git('remote', 'add', 'origin', remote);
  for (const id of ids) await writeFile(path.join(repo, 'prompts', `${id}.md`), `# ${id}\nWrite bench-output.txt.\n`);
  return repo;
}

function verify(repo: string, count: number): void {
  const branches = execFileSync('git', ['branch', '--list', 'orch/*', '--format=%(refname:short)'], { cwd: repo, encoding: 'utf8' })
    .trim()
    .split('\n');
  if (branches.length !== count) throw new Error(`expected ${count} task branches, found ${branches.length}`);
  for (const branch of branches) execFileSync('git', ['show', `${branch}:bench-output.txt`], { cwd: repo, stdio: 'ignore' });
}

export interface WorkersBench {
  /** 2 s agents: wall of the run on two workers ÷ wall of the local run. */
  sleeping: { workers: Spread; local: Spread; ratio: Spread };
  /** No-op agents: the same, and the queue's extra time per task. */
  noop: { workers: Spread; local: Spread; ratio: Spread; perTaskMs: Spread };
}

export async function workersVsLocal(options: { repetitions?: number; tasks?: number } = {}): Promise<WorkersBench> {
  const repetitions = options.repetitions ?? 5;
  const tasks = options.tasks ?? 16;
  const ids = Array.from({ length: tasks }, (_, index) => `task-${String(index + 1).padStart(2, '0')}`);
  const dir = await mkdtemp(path.join(tmpdir(), 'orch-bench-workers-'));
  const port = await freePort();
  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const children: ChildProcess[] = [redis];
  try {
    await printed(redis, 'Ready to accept connections');
    const url = `redis://127.0.0.1:${port}`;
    const remote = path.join(dir, 'remote.git');
    execFileSync('git', ['init', '-q', '--bare', remote]);
    // Machines that are roomy enough for 8 agents: the local run's limit is its --max-parallel, not this machine's cores.
    const sampler = path.join(dir, 'sample.json');
    await writeFile(sampler, JSON.stringify({ cores: 8, availableMemMb: 64_000, loadPerCore: 0 }));

    const results = {
      sleeping: { workers: [] as number[], local: [] as number[] },
      noop: { workers: [] as number[], local: [] as number[] },
    };
    for (const [kind, agent] of [
      ['sleeping', sleepAgent],
      ['noop', noopAgent],
    ] as const) {
      const workers = ['w1', 'w2'].map((name) => {
        const child = spawn(
          process.execPath,
          [
            orch,
            'worker',
            '--connect',
            url,
            '--workdir',
            path.join(dir, `${kind}-${name}`),
            '--name',
            name,
            '--slots',
            '4',
            '--allow-remote',
            remote,
            '--claude-bin',
            agent,
          ],
          { env: { ...process.env, ...IDENTITY, ORCH_SAMPLER_FILE: sampler }, stdio: ['ignore', 'pipe', 'inherit'] },
        );
        children.push(child);
        return child;
      });
      await Promise.all(workers.map((child, index) => printed(child, `worker w${index + 1} ready`)));
      for (let repetition = 1; repetition <= repetitions; repetition++) {
        for (const side of repetition % 2 === 1 ? (['local', 'workers'] as const) : (['workers', 'local'] as const)) {
          const repo = await freshRepo(dir, remote, ids);
          const env = { ...process.env, ORCH_MAX_PARALLEL: '8', ORCH_SAMPLER_FILE: sampler };
          const run =
            side === 'local'
              ? await measure(process.execPath, [orch, 'run', '--json', 'prompts'], { cwd: repo, env: { ...env, ORCH_CLAUDE_BIN: agent } })
              : await measure(process.execPath, [orch, 'run', '--json', 'prompts', '--workers', url], { cwd: repo, env });
          verify(repo, tasks);
          results[kind][side].push(run.wallMs);
          await rm(repo, { recursive: true, force: true });
        }
      }
      for (const child of workers) child.kill('SIGTERM');
      await Promise.all(workers.map((child) => new Promise((resolve) => child.once('exit', resolve))));
    }
    const ratio = (side: { workers: number[]; local: number[] }) => spread(side.workers.map((ms, index) => ms / side.local[index]!));
    return {
      sleeping: { workers: spread(results.sleeping.workers), local: spread(results.sleeping.local), ratio: ratio(results.sleeping) },
      noop: {
        workers: spread(results.noop.workers),
        local: spread(results.noop.local),
        ratio: ratio(results.noop),
        perTaskMs: spread(results.noop.workers.map((ms, index) => (ms - results.noop.local[index]!) / tasks)),
      },
    };
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await sleep(200);
    await rm(dir, { recursive: true, force: true });
  }
}

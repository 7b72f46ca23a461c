/**
 * `npm run bench`: orch against a plain shell script doing the same work, side by side in one
 * run. Each side runs 32 tasks with a no-op agent at the same concurrency, in a fresh repository
 * per repetition; the figures are medians over the repetitions. Nothing here is estimated.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const projectRoot = path.resolve(here, '..');
const TASKS = Number(process.env.BENCH_TASKS ?? 32);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
const REPETITIONS = Number(process.env.BENCH_REPETITIONS ?? 3);
const ids = Array.from({ length: TASKS }, (_, index) => `task-${String(index + 1).padStart(2, '0')}`);

async function freshRepo(): Promise<{ dir: string; repo: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'orch-bench-'));
  const repo = path.join(dir, 'repo');
  await mkdir(path.join(repo, 'prompts'), { recursive: true });
  const git = (...args: string[]) => execFileSync('git', args, { cwd: repo });
  git('init', '-q', '-b', 'main');
  git('config', 'user.name', 'bench');
  git('config', 'user.email', 'bench@example.com');
  await writeFile(path.join(repo, 'README.md'), '# bench\n');
  git('add', '-A');
  git('commit', '-q', '-m', 'initial');
  for (const id of ids) await writeFile(path.join(repo, 'prompts', `${id}.md`), `# ${id}\nWrite bench-output.txt.\n`);
  return { dir, repo };
}

interface Measurement {
  wallMs: number;
  /** Peak resident memory of the orchestrating process itself (not its agents), in MB. */
  peakRssMb: number;
}

/** Runs a command, sampling its peak RSS (VmHWM) until it exits. */
function measure(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Measurement> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    let peakKb = 0;
    const sample = async () => {
      try {
        const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
        peakKb = Math.max(peakKb, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0));
      } catch {
        // exited between samples
      }
    };
    const timer = setInterval(() => void sample(), 20);
    child.on('exit', (code) => {
      clearInterval(timer);
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      if (code !== 0) reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr.slice(-500)}`));
      else resolve({ wallMs, peakRssMb: peakKb / 1024 });
    });
  });
}

function verify(repo: string, prefix: string): void {
  const branches = execFileSync('git', ['branch', '--list', `${prefix}*`, '--format=%(refname:short)'], { cwd: repo, encoding: 'utf8' })
    .trim()
    .split('\n');
  if (branches.length !== TASKS) throw new Error(`expected ${TASKS} ${prefix} branches, found ${branches.length}`);
  for (const branch of branches) execFileSync('git', ['show', `${branch}:bench-output.txt`], { cwd: repo, stdio: 'ignore' });
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const agent = path.join(here, 'noop-agent.sh');
const orchRuns: Measurement[] = [];
const shellRuns: Measurement[] = [];
for (let repetition = 1; repetition <= REPETITIONS; repetition++) {
  // Alternate which side goes first so neither always gets a warm cache.
  const order = repetition % 2 === 1 ? ['orch', 'shell'] : ['shell', 'orch'];
  for (const side of order) {
    const { dir, repo } = await freshRepo();
    try {
      if (side === 'orch') {
        const env = { ...process.env, ORCH_CLAUDE_BIN: agent, ORCH_MAX_PARALLEL: String(CONCURRENCY) };
        orchRuns.push(
          await measure(process.execPath, [path.join(projectRoot, 'bin', 'orch.js'), 'run', '--json', 'prompts/*.md'], repo, env),
        );
        verify(repo, 'orch/');
      } else {
        shellRuns.push(await measure(path.join(here, 'baseline.sh'), [repo, String(CONCURRENCY), agent, ...ids], repo, process.env));
        verify(repo, 'baseline/');
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

const orchWall = median(orchRuns.map((run) => run.wallMs));
const shellWall = median(shellRuns.map((run) => run.wallMs));
const orchRss = median(orchRuns.map((run) => run.peakRssMb));
const shellRss = median(shellRuns.map((run) => run.peakRssMb));
console.log(
  `orch run vs plain shell (xargs -P + flock): ${TASKS} tasks, no-op agent, concurrency ${CONCURRENCY}, median of ${REPETITIONS}`,
);
console.log(`machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown'}), node ${process.version}`);
console.log('');
console.log('| | orch | shell | ratio (orch ÷ shell) |');
console.log('|---|---|---|---|');
console.log(
  `| wall time | ${(orchWall / 1000).toFixed(2)} s | ${(shellWall / 1000).toFixed(2)} s | ${(orchWall / shellWall).toFixed(2)}× |`,
);
console.log(`| per task | ${(orchWall / TASKS).toFixed(0)} ms | ${(shellWall / TASKS).toFixed(0)} ms | |`);
console.log(
  `| peak RSS of the orchestrating process | ${orchRss.toFixed(1)} MB | ${shellRss.toFixed(1)} MB | ${(orchRss / shellRss).toFixed(1)}× |`,
);
console.log('');
console.log(
  `all runs (s): orch ${orchRuns.map((run) => (run.wallMs / 1000).toFixed(2)).join(', ')} · shell ${shellRuns.map((run) => (run.wallMs / 1000).toFixed(2)).join(', ')}`,
);

/**
 * The DAG workload against its lower bound: 16 one-second tasks given first, a chain of five
 * two-second tasks given last (each depends on the one before), 4 agents at once. No schedule
 * beats max(critical path, total work ÷ slots) = max(5 × 2 s, 26 s ÷ 4) = 10 s; orch's wall time
 * is measured against that. Every run is verified (each task's branch holds its output, each
 * chain link's branch holds the links before it).
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBenchRepo } from './repo.js';
import { measure, spread, type Spread } from './measure.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const projectRoot = path.resolve(here, '..');
const agent = path.join(here, 'dag-agent.sh');

const SHORT = 16;
const CHAIN = 5;
const SLOTS = 4;

async function dagRepo(): Promise<{ dir: string; repo: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'orch-bench-dag-'));
  const repo = path.join(dir, 'repo');
  await initBenchRepo(repo);
  // File names sort in the order given: the short tasks first, the chain last.
  for (let i = 1; i <= SHORT; i++)
    await writeFile(path.join(repo, 'prompts', `a-${String(i).padStart(2, '0')}.md`), `# short ${i}\nWork.\n`);
  for (let i = 1; i <= CHAIN; i++) {
    const dependsOn = i === 1 ? '' : `depends_on: [chain-${i - 1}]\n`;
    await writeFile(path.join(repo, 'prompts', `b-${i}.md`), `---\nid: chain-${i}\n${dependsOn}---\n# chain ${i}\nWork.\n`);
  }
  return { dir, repo };
}

function verify(repo: string): void {
  const branches = execFileSync('git', ['branch', '--list', 'orch/*', '--format=%(refname:short)'], { cwd: repo, encoding: 'utf8' })
    .trim()
    .split('\n');
  if (branches.length !== SHORT + CHAIN) throw new Error(`expected ${SHORT + CHAIN} branches, found ${branches.length}`);
  for (const branch of branches) execFileSync('git', ['show', `${branch}:bench-output.txt`], { cwd: repo, stdio: 'ignore' });
  const last = branches.find((branch) => branch.endsWith(`/chain-${CHAIN}`))!;
  const log = execFileSync('git', ['log', '--format=%s', last], { cwd: repo, encoding: 'utf8' });
  for (let i = 1; i < CHAIN; i++) if (!log.includes(`chain-${i}`)) throw new Error(`${last} lacks the work of chain-${i}`);
}

export interface DagResult {
  unitMs: number;
  lowerBoundMs: number;
  wall: Spread;
  ratio: Spread;
}

/** `repetitions` runs of the DAG workload; BENCH_DAG_UNIT scales the agents' times (default 1 s). */
export async function dagVsBound(repetitions: number): Promise<DagResult> {
  const unit = Number(process.env.BENCH_DAG_UNIT ?? 1);
  const lowerBoundMs = Math.max(CHAIN * 2, (SHORT + CHAIN * 2) / SLOTS) * unit * 1000;
  const walls: number[] = [];
  for (let repetition = 1; repetition <= repetitions; repetition++) {
    const { dir, repo } = await dagRepo();
    try {
      // The sample file pins the machine's figure, so orch runs SLOTS at once however loaded the machine is.
      const sample = path.join(dir, 'sample.json');
      await writeFile(sample, JSON.stringify({ cores: 8, availableMemMb: 64_000, loadPerCore: 0 }));
      const env = { ...process.env, ORCH_CLAUDE_BIN: agent, ORCH_MAX_PARALLEL: String(SLOTS), ORCH_SAMPLER_FILE: sample };
      const run = await measure(process.execPath, [path.join(projectRoot, 'bin', 'orch.js'), 'run', '--json', 'prompts/*.md'], {
        cwd: repo,
        env,
      });
      verify(repo);
      walls.push(run.wallMs);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  return { unitMs: unit * 1000, lowerBoundMs, wall: spread(walls), ratio: spread(walls.map((wall) => wall / lowerBoundMs)) };
}

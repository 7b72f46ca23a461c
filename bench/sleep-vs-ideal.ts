/**
 * orch's start-up and per-task overhead on agents that work: 16 independent tasks whose agents
 * sleep 2 s (`sleep-agent.sh`), 4 at once, against the ideal no orchestrator beats,
 * 16 × 2 s ÷ 4 = 8 s (computed, not run). The machine's figure is pinned (`ORCH_SAMPLER_FILE`) so
 * orch runs 4 at once however loaded the machine is; every run is verified (16 branches, each
 * holding its output).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBenchRepo, verifyBranches } from './repo.js';
import { measure, spread, type Spread } from './measure.js';
import { orchBin } from './pool.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const agent = path.join(here, 'sleep-agent.sh');

export const SLEEP_TASKS = 16;
export const SLEEP_SLOTS = 4;
export const SLEEP_SECONDS = 2;

export interface SleepResult {
  idealMs: number;
  wall: Spread;
  ratio: Spread;
  /** What the wall time above the ideal comes to per task: (wall − ideal) × slots ÷ tasks. */
  perTaskMs: Spread;
}

export async function sleepVsIdeal(repetitions: number): Promise<SleepResult> {
  const idealMs = ((SLEEP_TASKS * SLEEP_SECONDS) / SLEEP_SLOTS) * 1000;
  const walls: number[] = [];
  for (let repetition = 1; repetition <= repetitions; repetition++) {
    const dir = await mkdtemp(path.join(tmpdir(), 'orch-bench-sleep-'));
    try {
      const repo = path.join(dir, 'repo');
      await initBenchRepo(repo);
      for (let i = 1; i <= SLEEP_TASKS; i++)
        await writeFile(path.join(repo, 'prompts', `task-${String(i).padStart(2, '0')}.md`), `# task ${i}\nWork.\n`);
      const sample = path.join(dir, 'sample.json');
      await writeFile(sample, JSON.stringify({ cores: 8, availableMemMb: 64_000, loadPerCore: 0 }));
      const env = {
        ...process.env,
        ORCH_CLAUDE_BIN: agent,
        ORCH_MAX_PARALLEL: String(SLEEP_SLOTS),
        ORCH_SAMPLER_FILE: sample,
        BENCH_AGENT_SLEEP: String(SLEEP_SECONDS),
      };
      const run = await measure(process.execPath, [orchBin, 'run', '--json', 'prompts/*.md'], { cwd: repo, env });
      verifyBranches(repo, 'orch/*', SLEEP_TASKS);
      walls.push(run.wallMs);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  return {
    idealMs,
    wall: spread(walls),
    ratio: spread(walls.map((wall) => wall / idealMs)),
    perTaskMs: spread(walls.map((wall) => ((wall - idealMs) * SLEEP_SLOTS) / SLEEP_TASKS)),
  };
}

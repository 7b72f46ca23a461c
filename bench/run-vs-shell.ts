/**
 * orch against a plain shell script doing the same work, side by side in one run: each side runs
 * 32 tasks with a no-op agent at the same concurrency, in a fresh repository per repetition, and
 * every run is verified (each task's branch holds its output). Medians with the spread (min–max).
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBenchRepo } from './repo.js';
import { measure, spread, type Measurement, type Spread } from './measure.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const projectRoot = path.resolve(here, '..');
const agent = path.join(here, 'noop-agent.sh');

async function freshRepo(ids: readonly string[]): Promise<{ dir: string; repo: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'orch-bench-'));
  const repo = path.join(dir, 'repo');
  await initBenchRepo(repo);
  for (const id of ids) await writeFile(path.join(repo, 'prompts', `${id}.md`), `# ${id}\nWrite bench-output.txt.\n`);
  return { dir, repo };
}

function verify(repo: string, prefix: string, count: number): void {
  const branches = execFileSync('git', ['branch', '--list', `${prefix}*`, '--format=%(refname:short)'], { cwd: repo, encoding: 'utf8' })
    .trim()
    .split('\n');
  if (branches.length !== count) throw new Error(`expected ${count} ${prefix} branches, found ${branches.length}`);
  for (const branch of branches) execFileSync('git', ['show', `${branch}:bench-output.txt`], { cwd: repo, stdio: 'ignore' });
}

export interface SideBySide {
  /**
   * treeRss: every process (agents included); ownRss: orch's own process tree — orch and the git
   * processes it starts, not the agents' process groups; mainRss: the orch process alone.
   */
  orch: { wall: Spread; treeRss: Spread; ownRss: Spread; mainRss: Spread };
  shell: { wall: Spread; treeRss: Spread };
  wallRatio: Spread;
  runs: { orch: number[]; shell: number[] };
}

/** 32 no-op tasks at concurrency 4 (by default), orch and the shell loop alternating, `repetitions` times each. */
export async function runVsShell(options: { tasks?: number; concurrency?: number; repetitions?: number } = {}): Promise<SideBySide> {
  const tasks = options.tasks ?? 32;
  const concurrency = options.concurrency ?? 4;
  const repetitions = options.repetitions ?? 5;
  const ids = Array.from({ length: tasks }, (_, index) => `task-${String(index + 1).padStart(2, '0')}`);
  const orchRuns: Measurement[] = [];
  const shellRuns: Measurement[] = [];
  for (let repetition = 1; repetition <= repetitions; repetition++) {
    // Alternate which side goes first so neither always gets a warm cache.
    for (const side of repetition % 2 === 1 ? ['orch', 'shell'] : ['shell', 'orch']) {
      const { dir, repo } = await freshRepo(ids);
      try {
        if (side === 'orch') {
          // The sample file pins the machine's figure, so orch runs `concurrency` at once however
          // loaded the machine is, as the shell loop does: the row measures orch's own cost per task.
          const sample = path.join(dir, 'sample.json');
          await writeFile(sample, JSON.stringify({ cores: 8, availableMemMb: 64_000, loadPerCore: 0 }));
          const env = { ...process.env, ORCH_CLAUDE_BIN: agent, ORCH_MAX_PARALLEL: String(concurrency), ORCH_SAMPLER_FILE: sample };
          // The bin itself, as a user's shell starts it: its #! line gives node its memory flag.
          orchRuns.push(await measure(path.join(projectRoot, 'bin', 'orch.js'), ['run', '--json', 'prompts/*.md'], { cwd: repo, env }));
          verify(repo, 'orch/', tasks);
        } else {
          shellRuns.push(
            await measure(path.join(here, 'baseline.sh'), [repo, String(concurrency), agent, ...ids], { cwd: repo, env: process.env }),
          );
          verify(repo, 'baseline/', tasks);
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
  }
  return {
    orch: {
      wall: spread(orchRuns.map((run) => run.wallMs)),
      treeRss: spread(orchRuns.map((run) => run.peakTreeRssMb)),
      ownRss: spread(orchRuns.map((run) => run.peakGroupRssMb)),
      mainRss: spread(orchRuns.map((run) => run.peakRootRssMb)),
    },
    shell: { wall: spread(shellRuns.map((run) => run.wallMs)), treeRss: spread(shellRuns.map((run) => run.peakTreeRssMb)) },
    wallRatio: spread(orchRuns.map((run, index) => run.wallMs / shellRuns[index]!.wallMs)),
    runs: { orch: orchRuns.map((run) => run.wallMs), shell: shellRuns.map((run) => run.wallMs) },
  };
}

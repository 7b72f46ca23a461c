/**
 * Parallel worktree creation on a large repository: 8 no-op tasks, 8 at once, on a generated
 * repository of BENCH_LARGE_FILES small files (default 50,000), orch against the shell loop
 * (`baseline.sh`: `git worktree add` under `flock`, the agent, a commit) doing the same work —
 * cold, then a second run of 8 new tasks in the same repository:
 *
 * - orch: after the first run, `orch clean --branches --force` (not measured), which keeps up to
 *   `worktree.pool` (default 8) clean worktrees in the warm pool; the second run takes them. How
 *   many were pooled is counted (`git worktree list`), so the row says what it measured: 0 while
 *   the orch under test has no pool.
 * - the shell loop has no pool: its worktrees and branches are removed the same way (not
 *   measured) and its second run does again what its first did.
 *
 * Each repetition and side gets its own clone of the generated repository (made outside the
 * measurement), sides alternating which goes first; every run is verified (each task's branch
 * holds its output). BENCH_LARGE_REPETITIONS sets this row's repetitions (default: the bench's).
 *
 * Before every measured run the page cache is settled (see `settle`): without it, each run paid
 * for the writeback of whatever came before it (the clone's 50,000 files, the previous side's
 * 400,000 and their deletion), and which side went second decided more than either side did.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { measure, spread, type Spread } from './measure.js';
import { linkedWorktrees, orchBin, pooledWorktrees, poolExists } from './pool.js';
import { verifyBranches } from './repo.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const agent = path.join(here, 'noop-agent.sh');
const TASKS = 8;

/**
 * A bare repository whose `main` holds `files` small files in folders of 100, written straight
 * into git with `git fast-import` (no working tree to write and hash: generating 50,000 files
 * takes seconds); each clone then checks them out.
 */
function generate(dir: string, files: number): string {
  const template = path.join(dir, 'template.git');
  execFileSync('git', ['init', '-q', '--bare', '-b', 'main', template]);
  const lines = ['commit refs/heads/main', 'committer bench <bench@example.com> 0 +0000', 'data 9', 'generated'];
  for (let i = 0; i < files; i++) {
    const content = `file ${i}\n`;
    lines.push(`M 100644 inline src/d${Math.floor(i / 100)}/f${i}.txt`, `data ${Buffer.byteLength(content)}`, content);
  }
  execFileSync('git', ['fast-import', '--quiet'], { cwd: template, input: `${lines.join('\n')}\n` });
  return template;
}

async function clone(template: string, dir: string, ids: readonly string[]): Promise<string> {
  const repo = path.join(dir, `repo-${Math.random().toString(36).slice(2)}`);
  execFileSync('git', ['clone', '-q', '--local', template, repo]);
  execFileSync('git', ['config', 'user.name', 'bench'], { cwd: repo });
  execFileSync('git', ['config', 'user.email', 'bench@example.com'], { cwd: repo });
  await mkdir(path.join(repo, 'prompts'));
  for (const id of ids) await writeFile(path.join(repo, 'prompts', `${id}.md`), `# ${id}\nWrite bench-output.txt.\n`);
  // The prompts stay untracked, as in run-vs-shell; git ignores them for both sides alike.
  return repo;
}

/**
 * Writes every dirty page to disk (`sync`), then, where allowed (root on Linux), empties the page
 * cache (`/proc/sys/vm/drop_caches`), so that each measured run starts from the same state: no
 * writeback of earlier work to wait behind, and the repository read from disk. Returns whether
 * the cache was emptied.
 */
async function settle(): Promise<boolean> {
  execFileSync('sync');
  try {
    await writeFile('/proc/sys/vm/drop_caches', '3\n');
    return true;
  } catch {
    return false;
  }
}

export interface LargeRepoResult {
  files: number;
  repetitions: number;
  /** Whether the orch under test has the warm pool. */
  poolExists: boolean;
  cold: { orch: Spread; shell: Spread; ratio: Spread };
  warm: { orch: Spread; shell: Spread; ratio: Spread };
  /** Worktrees in the pool when orch's second run started, per repetition. */
  pooled: number[];
  /** How many of them the second run took from the pool, per repetition. */
  taken: number[];
  /** Whether the page cache was emptied before every measured run (else only synced). */
  cachesDropped: boolean;
  /** Every run's wall time in ms, in the order measured: what the medians hide. */
  runs: { orch: { cold: number[]; warm: number[] }; shell: { cold: number[]; warm: number[] } };
}

export async function largeRepo(defaultRepetitions: number): Promise<LargeRepoResult> {
  const files = Number(process.env.BENCH_LARGE_FILES ?? 50_000);
  const repetitions = Number(process.env.BENCH_LARGE_REPETITIONS ?? defaultRepetitions);
  const cold = Array.from({ length: TASKS }, (_, index) => `cold-${index + 1}`);
  const warm = Array.from({ length: TASKS }, (_, index) => `warm-${index + 1}`);
  const dir = await mkdtemp(path.join(tmpdir(), 'orch-bench-large-'));
  const walls = { orch: { cold: [] as number[], warm: [] as number[] }, shell: { cold: [] as number[], warm: [] as number[] } };
  const pooled: number[] = [];
  const taken: number[] = [];
  let cachesDropped = true;
  const settled = async () => {
    cachesDropped = (await settle()) && cachesDropped;
  };
  try {
    const template = generate(dir, files);
    const sample = path.join(dir, 'sample.json');
    await writeFile(sample, JSON.stringify({ cores: 8, availableMemMb: 64_000, loadPerCore: 0 }));
    const orchEnv = { ...process.env, ORCH_CLAUDE_BIN: agent, ORCH_MAX_PARALLEL: String(TASKS), ORCH_SAMPLER_FILE: sample };
    for (let repetition = 1; repetition <= repetitions; repetition++) {
      for (const side of repetition % 2 === 1 ? (['orch', 'shell'] as const) : (['shell', 'orch'] as const)) {
        const repo = await clone(template, dir, [...cold, ...warm]);
        try {
          if (side === 'orch') {
            const run = async (ids: string) => {
              await settled();
              return measure(process.execPath, [orchBin, 'run', '--json', `prompts/${ids}-*.md`], { cwd: repo, env: orchEnv });
            };
            walls.orch.cold.push((await run('cold')).wallMs);
            verifyBranches(repo, 'orch/*/cold-*', TASKS);
            execFileSync(process.execPath, [orchBin, 'clean', '--branches', '--force'], { cwd: repo, stdio: 'ignore' });
            verifyBranches(repo, 'orch/*/cold-*', 0);
            pooled.push(pooledWorktrees(repo));
            walls.orch.warm.push((await run('warm')).wallMs);
            verifyBranches(repo, 'orch/*/warm-*', TASKS);
            taken.push(pooled.at(-1)! - pooledWorktrees(repo));
          } else {
            const run = async (ids: readonly string[]) => {
              await settled();
              return measure(path.join(here, 'baseline.sh'), [repo, String(TASKS), agent, ...ids], { cwd: repo, env: process.env });
            };
            walls.shell.cold.push((await run(cold)).wallMs);
            verifyBranches(repo, 'baseline/cold-*', TASKS);
            // What orch clean --branches --force does, for a loop without a pool: remove it all.
            for (const worktree of linkedWorktrees(repo)) execFileSync('git', ['worktree', 'remove', '--force', worktree], { cwd: repo });
            execFileSync('git', ['branch', '-D', ...cold.map((id) => `baseline/${id}`)], { cwd: repo, stdio: 'ignore' });
            walls.shell.warm.push((await run(warm)).wallMs);
            verifyBranches(repo, 'baseline/warm-*', TASKS);
          }
        } finally {
          await rm(repo, { recursive: true, force: true });
        }
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const compare = (orch: number[], shell: number[]) => ({
    orch: spread(orch),
    shell: spread(shell),
    ratio: spread(orch.map((wall, index) => wall / shell[index]!)),
  });
  return {
    files,
    repetitions,
    poolExists: poolExists(),
    cold: compare(walls.orch.cold, walls.shell.cold),
    warm: compare(walls.orch.warm, walls.shell.warm),
    pooled,
    taken,
    cachesDropped,
    runs: walls,
  };
}

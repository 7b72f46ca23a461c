/**
 * `orch clean` of 32 worktrees against a plain `git worktree remove` loop over 32 worktrees of the
 * same kind, measuring only the clean or the removal. Each side starts from its own fresh
 * repository in the same state: for orch, a finished run of 32 no-op tasks (4 at a time); for
 * the loop, 32 worktrees made by `baseline.sh` (`git worktree add`, the same agent, a commit), so
 * both hold the same files on a branch each. Removal is compared with removal (`orch clean
 * --no-pool`); `orch clean` with its default pool (which moves up to `worktree.pool` clean worktrees into the pool instead of
 * deleting them) is measured as a third side, with how many it pooled. Every run is verified:
 * before, each branch holds its output; after, the branches are all still there and every linked
 * worktree is gone (or, for the pooling side, in the pool), and nothing is left in orch's worktree root but the pool.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBenchRepo, verifyBranches } from './repo.js';
import { measure, spread, type Spread } from './measure.js';
import { linkedWorktrees, orchBin, pooledWorktrees, removingClean } from './pool.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const agent = path.join(here, 'noop-agent.sh');
export const CLEAN_WORKTREES = 32;
const CONCURRENCY = 4;

type Side = 'orch' | 'loop' | 'pool';

export interface CleanResult {
  /** How orch was made to remove rather than pool. */
  how: string;
  orch: Spread;
  loop: Spread;
  ratio: Spread;
  /** `orch clean` with the default pool. */
  pool: Spread;
  poolRatio: Spread;
  /** Worktrees the default clean left in the pool, per run. */
  pooled: number[];
}

async function worktreesFor(side: Side, repo: string, ids: readonly string[]): Promise<void> {
  if (side === 'loop') {
    execFileSync(path.join(here, 'baseline.sh'), [repo, String(CONCURRENCY), agent, ...ids], { cwd: repo, stdio: 'ignore' });
    verifyBranches(repo, 'baseline/*', ids.length);
  } else {
    const env = { ...process.env, ORCH_CLAUDE_BIN: agent, ORCH_MAX_PARALLEL: String(CONCURRENCY) };
    execFileSync(process.execPath, [orchBin, 'run', '--json', 'prompts/*.md'], { cwd: repo, env, stdio: 'ignore' });
    verifyBranches(repo, 'orch/*', ids.length);
  }
  const linked = linkedWorktrees(repo).length;
  if (linked !== ids.length) throw new Error(`expected ${ids.length} worktrees before the clean, found ${linked}`);
}

export async function cleanVsRemove(repetitions: number): Promise<CleanResult> {
  const ids = Array.from({ length: CLEAN_WORKTREES }, (_, index) => `task-${String(index + 1).padStart(2, '0')}`);
  const walls: Record<Side, number[]> = { orch: [], loop: [], pool: [] };
  const pooled: number[] = [];
  let how = '';
  const sides: Side[] = ['orch', 'loop', 'pool'];
  for (let repetition = 1; repetition <= repetitions; repetition++) {
    // Each side goes first in turn, so none always meets the same cache.
    const order = [...sides.slice((repetition - 1) % 3), ...sides.slice(0, (repetition - 1) % 3)];
    for (const side of order) {
      const dir = await mkdtemp(path.join(tmpdir(), 'orch-bench-clean-'));
      try {
        const repo = path.join(dir, 'repo');
        await initBenchRepo(repo);
        for (const id of ids) await writeFile(path.join(repo, 'prompts', `${id}.md`), `# ${id}\nWrite bench-output.txt.\n`);
        await worktreesFor(side, repo, ids);
        if (side === 'loop') {
          const worktrees = linkedWorktrees(repo);
          const loop = 'for w in "$@"; do git worktree remove "$w" || exit 1; done';
          walls.loop.push((await measure('sh', ['-c', loop, 'remove', ...worktrees], { cwd: repo, env: process.env })).wallMs);
          verifyBranches(repo, 'baseline/*', ids.length);
        } else {
          const clean = side === 'orch' ? removingClean() : { args: ['clean'], how: '' };
          if (side === 'orch') how = clean.how;
          walls[side].push((await measure(process.execPath, [orchBin, ...clean.args], { cwd: repo, env: process.env })).wallMs);
          verifyBranches(repo, 'orch/*', ids.length);
        }
        const left = linkedWorktrees(repo).length;
        const inPool = pooledWorktrees(repo);
        if (side === 'pool') pooled.push(inPool);
        if (left !== (side === 'pool' ? inPool : 0))
          throw new Error(`${side}: ${left} worktrees left after the clean (${inPool} of them pooled)`);
        // Nothing left on disk either: the worktree root holds the pool at most.
        const root = path.join(repo, '.gadugi', 'worktrees');
        const onDisk = side === 'loop' ? [] : (await readdir(root).catch(() => [])).filter((name) => name !== '.pool');
        if (onDisk.length > 0) throw new Error(`${side}: ${onDisk.join(', ')} left in ${root} after the clean`);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
  }
  return {
    how,
    orch: spread(walls.orch),
    loop: spread(walls.loop),
    ratio: spread(walls.orch.map((wall, index) => wall / walls.loop[index]!)),
    pool: spread(walls.pool),
    poolRatio: spread(walls.pool.map((wall, index) => wall / walls.loop[index]!)),
    pooled,
  };
}

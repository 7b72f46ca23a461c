/**
 * The warm worktree pool as the benchmarks meet it: whether the orch under test has it (the
 * `worktree.pool` config key, `orch clean --no-pool`), how to make `orch clean` remove rather than
 * pool, and how many worktrees a repository holds in its pool. Asked of the built orch itself, so
 * the rows measure the pool as soon as it exists and say so while it does not.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBenchRepo } from './repo.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const orchBin = path.join(here, '..', 'bin', 'orch.js');

export interface PoolSupport {
  /** `orch clean --no-pool` exists. */
  cleanFlag: boolean;
  /** `.gadugi/config.json` accepts `worktree.pool`. */
  configKey: boolean;
}

let asked: Promise<PoolSupport> | undefined;

/** What the built orch knows of the pool (asked once per bench run). */
export function poolSupport(): Promise<PoolSupport> {
  asked ??= ask();
  return asked;
}

async function ask(): Promise<PoolSupport> {
  const help = execFileSync(process.execPath, [orchBin, 'clean', '--help'], { encoding: 'utf8' });
  const dir = await mkdtemp(path.join(tmpdir(), 'orch-bench-pool-'));
  try {
    const repo = path.join(dir, 'repo');
    await initBenchRepo(repo);
    await writeFile(path.join(repo, 'prompts', 'probe.md'), '# probe\nNothing.\n');
    await writeConfig(repo, 0);
    const plan = spawnSync(process.execPath, [orchBin, 'plan', 'prompts/probe.md'], { cwd: repo, encoding: 'utf8' });
    if (plan.status !== 0 && !plan.stderr.includes('"worktree.pool"'))
      throw new Error(`orch plan failed while asking whether worktree.pool exists: ${plan.stderr}`);
    return { cleanFlag: help.includes('--no-pool'), configKey: plan.status === 0 };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Writes `.gadugi/config.json` with `worktree.pool` (only call when the key exists, or to probe). */
async function writeConfig(repo: string, pool: number): Promise<void> {
  await mkdir(path.join(repo, '.gadugi'), { recursive: true });
  await writeFile(path.join(repo, '.gadugi', 'config.json'), JSON.stringify({ worktree: { pool } }, null, 2));
}

/**
 * The `orch clean` arguments that remove every clean worktree instead of pooling it, after
 * preparing `repo` for them; `how` says which way that was done, for the row's label.
 */
export async function removingClean(repo: string, extra: readonly string[] = []): Promise<{ args: string[]; how: string }> {
  const support = await poolSupport();
  if (support.cleanFlag) return { args: ['clean', '--no-pool', ...extra], how: 'orch clean --no-pool' };
  if (support.configKey) {
    await writeConfig(repo, 0);
    return { args: ['clean', ...extra], how: 'orch clean, worktree.pool 0' };
  }
  return { args: ['clean', ...extra], how: 'orch clean (this orch has no pool: it removes)' };
}

/**
 * The worktrees `repo` holds in its pool: linked worktrees on a detached HEAD (a pooled worktree
 * belongs to no branch) in a `.pool` folder, as `git worktree list` shows them.
 */
export function pooledWorktrees(repo: string): number {
  const listing = execFileSync('git', ['worktree', 'list', '--porcelain'], { cwd: repo, encoding: 'utf8' });
  const entries = listing.split('\n\n').filter((entry) => entry.trim() !== '');
  // The first entry is the repository's own working tree.
  return entries
    .slice(1)
    .filter(
      (entry) => /^detached$/m.test(entry) && path.basename(path.dirname(entry.split('\n')[0]!.slice('worktree '.length))) === '.pool',
    ).length;
}

/** The linked worktrees of `repo` (every worktree but its own working tree). */
export function linkedWorktrees(repo: string): string[] {
  const listing = execFileSync('git', ['worktree', 'list', '--porcelain'], { cwd: repo, encoding: 'utf8' });
  return listing
    .split('\n')
    .filter((line) => line.startsWith('worktree '))
    .map((line) => line.slice('worktree '.length))
    .slice(1);
}

/**
 * `orch merge` against a shell loop doing the same work: 32 task branches (each adding a file of
 * its own) from a real orch run, merged one merge commit each into an integration branch of its
 * own worktree, a trivial check (`true`) after every merge. Each repetition makes a fresh run;
 * the two sides alternate which goes first; every result is verified (32 merge commits).
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBenchRepo } from './repo.js';
import { measure, spread, type Spread } from './measure.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const orch = path.join(here, '..', 'bin', 'orch.js');

async function runWithBranches(tasks: number): Promise<{ dir: string; repo: string; branches: string[]; base: string; runId: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'orch-bench-merge-'));
  const repo = path.join(dir, 'repo');
  const git = await initBenchRepo(repo);
  const ids = Array.from({ length: tasks }, (_, index) => `task-${String(index + 1).padStart(2, '0')}`);
  for (const id of ids) await writeFile(path.join(repo, 'prompts', `${id}.md`), `# ${id}\nWrite out/${id}.txt.\n`);
  execFileSync(process.execPath, [orch, 'run', '--json', 'prompts/*.md'], {
    cwd: repo,
    env: { ...process.env, ORCH_CLAUDE_BIN: path.join(here, 'noop-file-agent.sh'), ORCH_MAX_PARALLEL: '4' },
    stdio: 'ignore',
  });
  const runId = git('for-each-ref', '--format=%(refname:short)', 'refs/heads/orch/').split('\n')[0]!.split('/')[1]!;
  return { dir, repo, branches: ids.map((id) => `orch/${runId}/${id}`), base: git('rev-parse', 'main'), runId };
}

function mergeCommits(repo: string, branch: string, base: string): number {
  return execFileSync('git', ['rev-list', '--merges', '--first-parent', `${base}..${branch}`], { cwd: repo, encoding: 'utf8' })
    .trim()
    .split('\n')
    .filter(Boolean).length;
}

export async function mergeVsShell(
  options: { tasks?: number; repetitions?: number } = {},
): Promise<{ orch: Spread; shell: Spread; ratio: Spread }> {
  const tasks = options.tasks ?? 32;
  const repetitions = options.repetitions ?? 5;
  const orchRuns: number[] = [];
  const shellRuns: number[] = [];
  for (let repetition = 1; repetition <= repetitions; repetition++) {
    const { dir, repo, branches, base, runId } = await runWithBranches(tasks);
    try {
      for (const side of repetition % 2 === 1 ? ['orch', 'shell'] : ['shell', 'orch']) {
        if (side === 'orch') {
          const run = await measure(process.execPath, [orch, 'merge', '--check', 'true', '--json'], { cwd: repo, env: process.env });
          if (mergeCommits(repo, `orch/${runId}/integration`, base) !== tasks) throw new Error('orch merge did not integrate every branch');
          orchRuns.push(run.wallMs);
        } else {
          const run = await measure(path.join(here, 'merge-baseline.sh'), [repo, base, 'true', ...branches], {
            cwd: repo,
            env: process.env,
          });
          if (mergeCommits(repo, 'baseline/integration', base) !== tasks) throw new Error('the shell loop did not merge every branch');
          shellRuns.push(run.wallMs);
        }
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  return { orch: spread(orchRuns), shell: spread(shellRuns), ratio: spread(orchRuns.map((ms, index) => ms / shellRuns[index]!)) };
}

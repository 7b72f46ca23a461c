/**
 * Parallel worktree creation on a large repository: 8 no-op tasks, 8 at once, on a generated
 * repository of BENCH_LARGE_FILES small files (default 20,000), orch against the shell loop
 * (`baseline.sh`: `git worktree add` under `flock`, the agent, a commit) doing the same work.
 * Each repetition and side gets its own clone of the generated repository (made outside the
 * measurement), sides alternating which goes first; every run is verified.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { measure, spread, type Spread } from './measure.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const projectRoot = path.resolve(here, '..');
const agent = path.join(here, 'noop-agent.sh');
const TASKS = 8;

async function generate(dir: string, files: number): Promise<string> {
  const template = path.join(dir, 'template');
  await mkdir(template, { recursive: true });
  const git = (...args: string[]) => execFileSync('git', args, { cwd: template });
  git('init', '-q', '-b', 'main');
  git('config', 'user.name', 'bench');
  git('config', 'user.email', 'bench@example.com');
  for (let dirIndex = 0; dirIndex < Math.ceil(files / 100); dirIndex++) {
    const sub = path.join(template, 'src', `d${dirIndex}`);
    await mkdir(sub, { recursive: true });
    for (let i = dirIndex * 100; i < Math.min(files, (dirIndex + 1) * 100); i++)
      await writeFile(path.join(sub, `f${i}.txt`), `file ${i}\n`);
  }
  git('add', '-A');
  git('commit', '-q', '-m', 'generated');
  return template;
}

function clone(template: string, dir: string, ids: readonly string[]): string {
  const repo = path.join(dir, `repo-${Math.random().toString(36).slice(2)}`);
  execFileSync('git', ['clone', '-q', '--local', template, repo]);
  execFileSync('git', ['config', 'user.name', 'bench'], { cwd: repo });
  execFileSync('git', ['config', 'user.email', 'bench@example.com'], { cwd: repo });
  execFileSync('mkdir', ['-p', path.join(repo, 'prompts')]);
  for (const id of ids)
    execFileSync('sh', ['-c', `printf '# %s\\nWrite bench-output.txt.\\n' "$1" > "$2"`, '_', id, path.join(repo, 'prompts', `${id}.md`)]);
  // The prompts stay untracked, as in run-vs-shell; git ignores them for both sides alike.
  return repo;
}

function verify(repo: string, prefix: string): void {
  const branches = execFileSync('git', ['branch', '--list', `${prefix}*`, '--format=%(refname:short)'], { cwd: repo, encoding: 'utf8' })
    .trim()
    .split('\n');
  if (branches.length !== TASKS) throw new Error(`expected ${TASKS} ${prefix} branches, found ${branches.length}`);
  for (const branch of branches) execFileSync('git', ['show', `${branch}:bench-output.txt`], { cwd: repo, stdio: 'ignore' });
}

export interface LargeRepoResult {
  files: number;
  orch: Spread;
  shell: Spread;
  ratio: Spread;
}

export async function largeRepo(repetitions: number): Promise<LargeRepoResult> {
  const files = Number(process.env.BENCH_LARGE_FILES ?? 20_000);
  const ids = Array.from({ length: TASKS }, (_, index) => `task-${index + 1}`);
  const dir = await mkdtemp(path.join(tmpdir(), 'orch-bench-large-'));
  const orch: number[] = [];
  const shell: number[] = [];
  try {
    const template = await generate(dir, files);
    const sample = path.join(dir, 'sample.json');
    await writeFile(sample, JSON.stringify({ cores: 8, availableMemMb: 64_000, loadPerCore: 0 }));
    for (let repetition = 1; repetition <= repetitions; repetition++) {
      for (const side of repetition % 2 === 1 ? ['orch', 'shell'] : ['shell', 'orch']) {
        const repo = clone(template, dir, ids);
        try {
          if (side === 'orch') {
            const env = { ...process.env, ORCH_CLAUDE_BIN: agent, ORCH_MAX_PARALLEL: String(TASKS), ORCH_SAMPLER_FILE: sample };
            const run = await measure(process.execPath, [path.join(projectRoot, 'bin', 'orch.js'), 'run', '--json', 'prompts/*.md'], {
              cwd: repo,
              env,
            });
            verify(repo, 'orch/');
            orch.push(run.wallMs);
          } else {
            const run = await measure(path.join(here, 'baseline.sh'), [repo, String(TASKS), agent, ...ids], {
              cwd: repo,
              env: process.env,
            });
            verify(repo, 'baseline/');
            shell.push(run.wallMs);
          }
        } finally {
          await rm(repo, { recursive: true, force: true });
        }
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return { files, orch: spread(orch), shell: spread(shell), ratio: spread(orch.map((wall, index) => wall / shell[index]!)) };
}

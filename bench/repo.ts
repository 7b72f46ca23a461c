/** The repository every benchmark starts from: `main` with one commit, a bench identity, and `prompts/`. */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** Makes `repo` such a repository and returns a git runner in it (its output, trimmed). */
export async function initBenchRepo(repo: string): Promise<(...args: string[]) => string> {
  await mkdir(path.join(repo, 'prompts'), { recursive: true });
  const git = (...args: string[]): string => execFileSync('git', args, { cwd: repo, encoding: 'utf8' }).trim();
  git('init', '-q', '-b', 'main');
  git('config', 'user.name', 'bench');
  git('config', 'user.email', 'bench@example.com');
  await writeFile(path.join(repo, 'README.md'), '# bench\n');
  git('add', '-A');
  git('commit', '-q', '-m', 'initial');
  return git;
}

/** Checks a run's work: exactly `count` branches match `pattern`, and each holds `bench-output.txt`. */
export function verifyBranches(repo: string, pattern: string, count: number): void {
  const listed = execFileSync('git', ['branch', '--list', pattern, '--format=%(refname:short)'], { cwd: repo, encoding: 'utf8' }).trim();
  const branches = listed === '' ? [] : listed.split('\n');
  if (branches.length !== count) throw new Error(`expected ${count} branches ${pattern}, found ${branches.length}`);
  for (const branch of branches) execFileSync('git', ['show', `${branch}:bench-output.txt`], { cwd: repo, stdio: 'ignore' });
}

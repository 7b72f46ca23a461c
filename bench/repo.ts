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

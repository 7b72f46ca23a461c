import { execa } from 'execa';
import { tempDir, writeFiles } from './tmp.js';

export async function git(cwd: string, ...args: string[]): Promise<string> {
  const result = await execa('git', args, { cwd });
  return result.stdout;
}

/** A temporary git repository with one commit holding `files`. */
export async function tempRepo(files: Record<string, string> = { 'README.md': '# test repo\n' }): Promise<string> {
  const dir = await tempDir('orch-repo-');
  await git(dir, 'init', '-q', '-b', 'main');
  await git(dir, 'config', 'user.name', 'Test User');
  await git(dir, 'config', 'user.email', 'test@example.com');
  await git(dir, 'config', 'commit.gpgsign', 'false');
  await writeFiles(dir, files);
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '-q', '-m', 'initial');
  return dir;
}

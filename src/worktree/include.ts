import { copyFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import ignore from 'ignore';
import { errorCode } from '../errors.js';
import { pathExists } from '../util/fs.js';
import { quietGit } from './git.js';

export const WORKTREE_INCLUDE_FILE = '.worktreeinclude';

/**
 * The patterns naming untracked files to copy into each worktree: `.worktreeinclude` at the
 * repository root (gitignore syntax, the file Claude Code honours too) plus `worktree.include`.
 */
export async function includePatterns(repoRoot: string, configured: readonly string[]): Promise<string[]> {
  let fromFile: string[] = [];
  try {
    fromFile = (await readFile(path.join(repoRoot, WORKTREE_INCLUDE_FILE), 'utf8')).split(/\r?\n/);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
  }
  return [...fromFile, ...configured].map((line) => line.trimEnd()).filter((line) => line && !line.startsWith('#'));
}

/**
 * Files in the user's checkout that are untracked or ignored and match the patterns, relative to
 * the root. orch's own state (`.gadugi/`) and other worktrees are never candidates.
 */
export async function filesToInclude(repoRoot: string, patterns: readonly string[], excludeDirs: readonly string[]): Promise<string[]> {
  if (patterns.length === 0) return [];
  const matcher = ignore().add([...patterns]);
  const excluded = excludeDirs.map((dir) => `:(exclude)${dir}`);
  const { stdout: output } = await quietGit(repoRoot, ['ls-files', '--others', '-z', '--', '.', ...excluded]);
  return output
    .split('\0')
    .filter((file) => file && matcher.ignores(file))
    .sort();
}

/**
 * Copies the files into a new worktree, keeping their modes. Copies, never symlinks (an agent
 * must not write into the user's checkout); a file already in the worktree is left alone.
 * Returns the paths copied.
 */
export async function copyIncludes(repoRoot: string, worktree: string, files: readonly string[]): Promise<string[]> {
  const copied: string[] = [];
  for (const file of files) {
    const target = path.join(worktree, file);
    // A file the worktree already has (tracked there, or copied by an earlier attempt) is left alone.
    if (await pathExists(target)) continue;
    await mkdir(path.dirname(target), { recursive: true });
    await copyFile(path.join(repoRoot, file), target);
    copied.push(file);
  }
  return copied;
}

import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { glob } from 'tinyglobby';
import { UserError, errorCode } from '../errors.js';
import { parsePrompt } from './parse.js';
import { isGlob } from './paths.js';
import type { PromptSpec } from './types.js';

/**
 * Turns the command line's prompt arguments (files, globs, or directories of .md files) into an
 * ordered list of files: the order given, each glob's matches sorted, duplicates dropped.
 */
export async function expandPromptArgs(args: readonly string[], cwd: string): Promise<string[]> {
  if (args.length === 0) throw new UserError('no prompt files given: pass prompt files or globs, e.g. `orch plan prompts/*.md`.');
  const files: string[] = [];
  for (const arg of args) {
    if (isGlob(arg)) {
      const matches = (await glob(arg, { cwd, onlyFiles: true, expandDirectories: false })).sort();
      if (matches.length === 0)
        throw new UserError(`no prompt files match "${arg}": check the pattern (quote it so orch expands it, or let your shell do it).`);
      files.push(...matches);
      continue;
    }
    const kind = await pathKind(path.resolve(cwd, arg));
    if (kind === 'missing') throw new UserError(`prompt file not found: ${arg} (paths are relative to ${cwd}).`);
    if (kind === 'directory') {
      const matches = (await glob('*.md', { cwd: path.resolve(cwd, arg), onlyFiles: true })).sort();
      if (matches.length === 0) throw new UserError(`no .md prompt files in directory ${arg}.`);
      files.push(...matches.map((match) => path.join(arg, match)));
      continue;
    }
    files.push(arg);
  }
  const seen = new Set<string>();
  return files.filter((file) => {
    const key = path.resolve(cwd, file);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

async function pathKind(absPath: string): Promise<'file' | 'directory' | 'missing'> {
  try {
    return (await stat(absPath)).isDirectory() ? 'directory' : 'file';
  } catch (error) {
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return 'missing';
    throw error;
  }
}

export async function loadPrompts(args: readonly string[], cwd: string): Promise<PromptSpec[]> {
  const files = await expandPromptArgs(args, cwd);
  return Promise.all(
    files.map(async (file) => {
      const absPath = path.resolve(cwd, file);
      let text: string;
      try {
        text = await readFile(absPath, 'utf8');
      } catch (error) {
        throw new UserError(`cannot read prompt file ${file}: ${errorCode(error) ?? String(error)}.`);
      }
      return parsePrompt(text, file, absPath);
    }),
  );
}

import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { glob } from 'tinyglobby';
import { UserError, errorCode } from '../errors.js';
import { splitWithoutFrontmatter } from './frontmatter-split.js';
import { parsePromptParts } from './parse-spec.js';
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

/** A prompt file's text: UTF-8 (a BOM is dropped), never binary. */
export function decodePrompt(bytes: Buffer, file: string): string {
  if (bytes.includes(0)) throw new UserError(`${file} is a binary file, not a markdown prompt: pass only .md task files.`);
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new UserError(`${file} is not valid UTF-8 text: save it as UTF-8 (e.g. \`iconv -f latin1 -t utf-8\`).`);
  }
}

export async function loadPrompts(args: readonly string[], cwd: string): Promise<PromptSpec[]> {
  const files = await expandPromptArgs(args, cwd);
  return Promise.all(
    files.map(async (file) => {
      const absPath = path.resolve(cwd, file);
      let bytes: Buffer;
      try {
        bytes = await readFile(absPath);
      } catch (error) {
        throw new UserError(`cannot read prompt file ${file}: ${errorCode(error) ?? String(error)}.`);
      }
      const text = decodePrompt(bytes, file);
      const split = splitWithoutFrontmatter(text) ?? (await import('./frontmatter.js')).splitFrontmatter(text, file);
      return parsePromptParts(split, file, absPath);
    }),
  );
}

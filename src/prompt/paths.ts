import picomatch from 'picomatch';

/** Normalizes a repo-relative path as written in a prompt: forward slashes, no `./`, no doubled `/`. */
export function normalizeRepoPath(raw: string): string {
  let p = raw
    .trim()
    .replace(/\\/g, '/')
    .replace(/\/{2,}/g, '/');
  while (p.startsWith('./')) p = p.slice(2);
  return p;
}

export function isGlob(pattern: string): boolean {
  return picomatch.scan(pattern).isGlob;
}

const URL_LIKE = /^[a-z][a-z0-9+.-]*:\/\//i;
// A file extension starts with a letter so that version numbers ("1.2") and sentences are not paths.
const HAS_EXTENSION = /[^/.\s]\.[A-Za-z][A-Za-z0-9_-]{0,11}$/;
const PATH_CHARS = /^[\w@.\-/*?{}[\],!+~=%^$]+$/;
// Names that are files without an extension.
// Abbreviations that look like `stem.ext` but are prose.
const ABBREVIATIONS = /^(e\.g|i\.e|a\.k\.a|n\.b|p\.s|vs|etc)\.?$/i;
const BARE_FILE_NAMES = new Set(['Makefile', 'Dockerfile', 'Procfile', 'Gemfile', 'Rakefile', 'LICENSE', 'Justfile']);

/** Whether a token written in a prompt plausibly names a file, directory or glob. */
export function isPathLike(token: string): boolean {
  const t = token.trim();
  if (t.length === 0 || t.length > 300 || URL_LIKE.test(t) || !PATH_CHARS.test(t)) return false;
  if (/^[-+=~^$%!]/.test(t) || /^\d+(\.\d+)*$/.test(t) || ABBREVIATIONS.test(t)) return false;
  if (BARE_FILE_NAMES.has(t)) return true;
  if (isGlob(t) && /[\w*]/.test(t)) return true;
  if (t.includes('/')) return /[A-Za-z0-9_]/.test(t);
  return HAS_EXTENSION.test(t);
}

/** Strips the punctuation that prose puts around a path: quotes, brackets, trailing commas and colons. */
export function trimPathToken(token: string): string {
  return token
    .replace(/^[`'"“‘(<]+/, '')
    .replace(/[`'"”’)>,;:.]+$/, '')
    .trim();
}

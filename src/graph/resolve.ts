import path from 'node:path';
import type { ProseReference } from '../prompt/types.js';

/** How other prompts may name a task: its id, its file name (with or without .md / folder), its title. */
export interface KeyIndex {
  byKey: Map<string, string>;
  /** Keys longest first, so "add-number-parsing-v2" wins over "add-number-parsing". */
  keys: string[];
}

interface Nameable {
  id: string;
  file: string;
  title: string;
}

function normalizeKey(raw: string): string {
  return raw
    .trim()
    .replace(/\\/g, '/')
    .replace(/^(\.\/)+/, '')
    .toLowerCase();
}

function fileKeys(file: string): string[] {
  const normalized = normalizeKey(file);
  const withoutExt = normalized.replace(/\.(md|markdown)$/, '');
  const base = path.posix.basename(normalized);
  const baseWithoutExt = base.replace(/\.(md|markdown)$/, '');
  return [normalized, withoutExt, base, baseWithoutExt];
}

export function buildKeyIndex(tasks: readonly Nameable[]): KeyIndex {
  const candidates = new Map<string, Set<string>>();
  const add = (key: string, id: string): void => {
    if (!key) return;
    const ids = candidates.get(key) ?? new Set<string>();
    ids.add(id);
    candidates.set(key, ids);
  };
  for (const task of tasks) {
    for (const key of fileKeys(task.file)) add(key, task.id);
    add(normalizeKey(task.title), task.id);
  }
  const byKey = new Map<string, string>();
  // A file name or title shared by two tasks names neither of them…
  for (const [key, ids] of candidates) if (ids.size === 1) byKey.set(key, [...ids][0]!);
  // …but an id always names its task (ids are unique).
  for (const task of tasks) byKey.set(task.id.toLowerCase(), task.id);
  const keys = [...byKey.keys()].sort((a, b) => b.length - a.length);
  return { byKey, keys };
}

/** Resolves a frontmatter `depends_on` entry: it must name a task exactly. */
export function resolveExact(ref: string, index: KeyIndex): string | undefined {
  return index.byKey.get(normalizeKey(ref.replace(/^[`'"]+|[`'"]+$/g, '')));
}

const WORDISH = /[\p{L}\p{N}_\-/]/u;

/** True when a key that ends at `end` is not the start of a longer word ("task-a" inside "task-ab"). */
function endsAtBoundary(text: string, end: number): boolean {
  const next = text[end];
  if (next === undefined) return true;
  if (WORDISH.test(next)) return false;
  // "a.md" continues "a" but "a." at the end of a sentence does not.
  if (next === '.' && text[end + 1] !== undefined && WORDISH.test(text[end + 1]!)) return false;
  return true;
}

function startsAtBoundary(text: string, start: number): boolean {
  return start === 0 || !WORDISH.test(text[start - 1]!);
}

function matchKeyAt(lower: string, pos: number, index: KeyIndex): string | undefined {
  for (const key of index.keys) {
    if (lower.startsWith(key, pos) && endsAtBoundary(lower, pos + key.length)) return key;
  }
  return undefined;
}

/**
 * Ids of one or two characters ("a", "t1") are also English words or fragments: in prose they
 * count only when quoted or standing alone ("after a." / "after a and b", not "after a while").
 */
function isShortKey(key: string): boolean {
  return key.length < 3;
}

function standsAlone(text: string, end: number): boolean {
  return /^\s*($|[.,;:!?)\]`'"”’]|(and|or)\b|&)/.test(text.slice(end));
}

const OPENERS = /^[\s`'"“‘([*]+/;
const CLOSERS = /^[`'"”’)\]*]+/;
const FILLER = /^(the|task|tasks|prompt|prompts|issue|issues)\b\s*/i;
// A Dependencies list item that says there are none.
const NOTHING = /^(none|n\/a|-|—|nothing)\.?$/i;
const SEPARATOR = /^\s*(,\s*(and|or)\b|,|and\b|or\b|&|\+|\/)\s*/i;

export interface ScanResult {
  ids: string[];
  /** Things that were clearly meant as references but name no task. */
  unresolved: string[];
}

/**
 * Reads the task references at the start of the text that follows a dependency phrase:
 * "add-parser", "`a`, `b` and c", "prompts/x.md", or an exact title.
 */
export function scanReference(ref: ProseReference, index: KeyIndex): ScanResult {
  const text = ref.text;
  const lower = text.toLowerCase();
  const result: ScanResult = { ids: [], unresolved: [] };
  let pos = 0;
  for (;;) {
    const opened = OPENERS.exec(lower.slice(pos))?.[0] ?? '';
    pos += opened.length;
    const quoted = /[`'"“‘]/.test(opened);
    const filler = FILLER.exec(lower.slice(pos))?.[0] ?? '';
    if (filler && !matchKeyAt(lower, pos, index)) pos += filler.length;
    const key = matchKeyAt(lower, pos, index);
    if (key !== undefined && (quoted || !isShortKey(key) || standsAlone(lower, pos + key.length))) {
      result.ids.push(index.byKey.get(key)!);
      pos += key.length;
    } else {
      const token = /^[^\s,;`'"”’)\]]+/.exec(text.slice(pos))?.[0]?.replace(/[.:]+$/, '') ?? '';
      const idLike = /[-_/]|\.md$/i.test(token);
      if (key === undefined && token && (quoted || idLike || (ref.explicit && pos === opened.length))) result.unresolved.push(token);
      break;
    }
    pos += CLOSERS.exec(lower.slice(pos))?.[0]?.length ?? 0;
    const separator = SEPARATOR.exec(lower.slice(pos))?.[0];
    if (!separator) break;
    pos += separator.length;
  }
  if (ref.anywhere) {
    // A list item under a Dependencies heading names its tasks wherever they appear in it.
    for (const key of index.keys) {
      let at = lower.indexOf(key);
      while (at !== -1) {
        if (
          startsAtBoundary(lower, at) &&
          endsAtBoundary(lower, at + key.length) &&
          (!isShortKey(key) || standsAlone(lower, at + key.length))
        ) {
          result.ids.push(index.byKey.get(key)!);
          break;
        }
        at = lower.indexOf(key, at + 1);
      }
    }
    if (result.ids.length > 0 || NOTHING.test(text.trim())) result.unresolved = [];
    else if (result.unresolved.length === 0) result.unresolved.push(text.trim());
  }
  result.ids = [...new Set(result.ids)];
  return result;
}

import type { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { UserError } from '../errors.js';
import { parseDuration } from '../util/duration.js';
import type { SplitPrompt } from './frontmatter-split.js';
import { idFromFileName, sanitizeId } from './id.js';
import { readMarkdown } from './markdown.js';
import { normalizeRepoPath } from './paths.js';
import type { PromptSpec } from './types.js';

// node:crypto is loaded only for the rare id that needs it (~15 of Node's own modules to load).
const require = createRequire(import.meta.url);

const KNOWN_KEYS = new Set(['id', 'title', 'depends_on', 'files', 'priority', 'timeout', 'max_turns', 'model']);

function stringList(value: unknown, key: string, file: string): string[] {
  if (value === undefined || value === null) return [];
  const items = Array.isArray(value) ? value : [value];
  return items
    .map((item) => {
      if (typeof item !== 'string' && typeof item !== 'number') {
        throw new UserError(`${file}: frontmatter \`${key}\` must be a string or a list of strings (got ${JSON.stringify(item)}).`);
      }
      return String(item).trim();
    })
    .filter((item) => item.length > 0);
}

function optionalString(value: unknown, key: string, file: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' && typeof value !== 'number') {
    throw new UserError(`${file}: frontmatter \`${key}\` must be a string (got ${JSON.stringify(value)}).`);
  }
  const text = String(value).trim();
  return text.length > 0 ? text : undefined;
}

/**
 * Parses one prompt file, its frontmatter already split from its body (parse.ts's parsePrompt, or
 * load.ts, which loads the YAML parser only for files that have frontmatter). References to other
 * tasks are kept as text: they can only be resolved once every prompt of the set is known (see
 * graph/resolve.ts).
 */
export function parsePromptParts({ data, body }: SplitPrompt, file: string, absPath: string): PromptSpec {
  const warnings: string[] = [];

  const explicitId = optionalString(data.id, 'id', file);
  const rawId = explicitId ?? idFromFileName(file);
  let id = sanitizeId(rawId);
  if (!id && explicitId !== undefined) {
    throw new UserError(
      `${file}: the task id "${rawId}" has no usable characters; set \`id:\` in its frontmatter to letters, digits, '.', '_' or '-'.`,
    );
  }
  // A file name with no usable characters (say, all in another script) still makes a stable id.
  if (!id)
    id = `task-${(require('node:crypto') as { createHash: typeof createHash }).createHash('sha256').update(rawId).digest('hex').slice(0, 8)}`;
  if (id !== rawId) warnings.push(`${file}: task id "${rawId}" is used as "${id}" (ids may only hold letters, digits, '.', '_' and '-')`);

  let priority = 0;
  if (data.priority !== undefined && data.priority !== null) {
    if (typeof data.priority !== 'number' || !Number.isFinite(data.priority)) {
      throw new UserError(`${file}: frontmatter \`priority\` must be a number, higher runs first (got ${JSON.stringify(data.priority)}).`);
    }
    priority = data.priority;
  }

  let timeoutMs: number | undefined;
  if (data.timeout !== undefined && data.timeout !== null) {
    timeoutMs = parseDuration(data.timeout);
    if (timeoutMs === undefined) {
      throw new UserError(
        `${file}: frontmatter \`timeout\` must be a duration such as 90s, 20m or 2h (got ${JSON.stringify(data.timeout)}).`,
      );
    }
  }

  let maxTurns: number | undefined;
  if (data.max_turns !== undefined && data.max_turns !== null) {
    if (typeof data.max_turns !== 'number' || !Number.isInteger(data.max_turns) || data.max_turns < 1) {
      throw new UserError(
        `${file}: frontmatter \`max_turns\` must be a whole number of at least 1 (got ${JSON.stringify(data.max_turns)}).`,
      );
    }
    maxTurns = data.max_turns;
  }

  for (const key of Object.keys(data)) {
    if (KNOWN_KEYS.has(key)) continue;
    warnings.push(`${file}: unknown frontmatter key "${key}" is ignored (known keys: ${[...KNOWN_KEYS].join(', ')})`);
  }

  const facts = readMarkdown(body);
  const files = unique([...facts.fileItems, ...stringList(data.files, 'files', file).map(normalizeRepoPath)]);
  const fileSet = new Set(files);
  const mentions = unique(facts.codespanPaths.filter((path) => !fileSet.has(path)));
  const dependsOn = stringList(data.depends_on, 'depends_on', file);
  const title = optionalString(data.title, 'title', file) ?? facts.firstH1 ?? id;
  const model = optionalString(data.model, 'model', file);

  // After the frontmatter checks: a wrong key is worth knowing about first.
  if (body.trim() === '') {
    throw new UserError(
      `${file} has no task text${Object.keys(data).length > 0 ? ' after its frontmatter' : ''}: write what the task should do, or leave the file out.`,
    );
  }

  const spec: PromptSpec = {
    file,
    absPath,
    id,
    title,
    body,
    dependsOn,
    proseRefs: facts.proseRefs,
    files,
    mentions,
    priority,
    warnings,
  };
  if (timeoutMs !== undefined) spec.timeoutMs = timeoutMs;
  if (maxTurns !== undefined) spec.maxTurns = maxTurns;
  if (model !== undefined) spec.model = model;
  return spec;
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

import matter from 'gray-matter';
import YAML from 'yaml';
import { UserError } from '../errors.js';
import type { SplitPrompt } from './frontmatter-split.js';

export type { SplitPrompt } from './frontmatter-split.js';

// gray-matter finds the frontmatter block; `yaml` parses it, because its errors carry line numbers.
// gray-matter passes the block starting at the newline after the opening `---`, so the parser's
// line numbers are already the file's.
const MATTER_OPTIONS = { engines: { yaml: { parse: (source: string): object => YAML.parse(source) as object } } };

export function splitFrontmatter(text: string, file: string): SplitPrompt {
  let parsed: { data: unknown; content: string };
  try {
    parsed = matter(text, MATTER_OPTIONS);
  } catch (error) {
    if (error instanceof YAML.YAMLParseError) {
      const line = error.linePos?.[0]?.line;
      const where = line === undefined ? file : `${file}:${line}`;
      const reason = error.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? 'syntax error';
      throw new UserError(`${where}: invalid YAML frontmatter: ${reason}. Fix the YAML between the --- lines.`);
    }
    throw error;
  }
  const data = parsed.data ?? {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new UserError(`${file}: the frontmatter must be a YAML mapping of keys (id, depends_on, files…), not a list or a value.`);
  }
  return { data: data as Record<string, unknown>, body: parsed.content };
}

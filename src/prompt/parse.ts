import { splitFrontmatter } from './frontmatter.js';
import { parsePromptParts } from './parse-spec.js';
import type { PromptSpec } from './types.js';

/**
 * Parses one prompt file. References to other tasks are kept as text: they can only be resolved
 * once every prompt of the set is known (see graph/resolve.ts).
 */
export function parsePrompt(text: string, file: string, absPath: string): PromptSpec {
  return parsePromptParts(splitFrontmatter(text, file), file, absPath);
}

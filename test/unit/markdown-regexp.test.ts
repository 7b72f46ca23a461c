import { describe, expect, it } from 'vitest';
import { compileMarkdownRulesOnce, readMarkdown } from '../../src/prompt/markdown.js';

const body = [
  '# Add the parser',
  '',
  'Depends on t1. See `src/a.ts`.',
  '',
  '## Files to modify',
  '',
  '- `src/parser.ts`',
  '- docs/parser.md',
  '',
  '| file | why |',
  '|---|---|',
  '| `src/table.ts` | cells |',
  '',
].join('\n');

describe("marked's rules compiled once (orch plan gives V8's flag setter)", () => {
  it('reads the same facts, with regexp tier-up off only while marked lexes and put back after', () => {
    const before = readMarkdown(body);
    const calls: string[] = [];
    compileMarkdownRulesOnce((flags) => calls.push(flags));
    try {
      expect(readMarkdown(body)).toEqual(before);
      expect(readMarkdown('# Second\n\nAfter t2.\n')).toEqual(readMarkdown('# Second\n\nAfter t2.\n'));
    } finally {
      compileMarkdownRulesOnce(() => undefined);
    }
    expect(before.fileItems).toEqual(['src/parser.ts', 'docs/parser.md']);
    expect(calls.slice(0, 2)).toEqual(['--no-regexp-tier-up', '--regexp-tier-up']);
    expect(calls.length % 2).toBe(0);
    for (let index = 0; index < calls.length; index += 2)
      expect(calls.slice(index, index + 2)).toEqual(['--no-regexp-tier-up', '--regexp-tier-up']);
  });
});

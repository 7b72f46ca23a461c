import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { sanitizeId } from '../../src/prompt/id.js';
import { parsePrompt } from '../../src/prompt/parse.js';
import { decodePrompt, loadPrompts } from '../../src/prompt/load.js';
import { splitFrontmatter } from '../../src/prompt/frontmatter.js';
import { splitWithoutFrontmatter } from '../../src/prompt/frontmatter-split.js';
import { tempDir } from '../support/tmp.js';
import { isPathLike } from '../../src/prompt/paths.js';

const parse = (text: string, file = 'prompts/task.md') => parsePrompt(text, file, `/abs/${file}`);

describe('title and id', () => {
  it('uses the first H1 as the title and the file name as the id', () => {
    const spec = parse('intro\n\n# Add clamp\n\n# Second\n', 'prompts/add-clamp.md');
    expect(spec.id).toBe('add-clamp');
    expect(spec.title).toBe('Add clamp');
  });

  it('falls back to the id when there is no H1', () => {
    expect(parse('## Only a subheading\n', 'x/y.md').title).toBe('y');
  });

  it('takes id and title from frontmatter', () => {
    const spec = parse('---\nid: custom\ntitle: My title\n---\n# Heading\n');
    expect(spec.id).toBe('custom');
    expect(spec.title).toBe('My title');
  });

  it('sanitizes ids so they cannot escape a directory or break a branch name', () => {
    const spec = parse('---\nid: ../x\n---\nbody\n');
    expect(spec.id).toBe('x');
    expect(spec.warnings.join('\n')).toContain('"../x" is used as "x"');
    expect(sanitizeId('a/b c')).toBe('a-b-c');
    expect(sanitizeId('..')).toBe('');
    expect(sanitizeId('release.lock')).toBe('release-lock');
    expect(sanitizeId('-x-')).toBe('x');
  });

  it('rejects an id with no usable characters, but gives such a file name a stable id', () => {
    expect(() => parse('---\nid: "///"\n---\n')).toThrow(UserError);
    const fromName = parse('# T\n', 'prompts/日本語.md').id;
    expect(fromName).toMatch(/^task-[0-9a-f]{8}$/);
    expect(parse('# T\n', 'prompts/日本語.md').id).toBe(fromName);
  });
});

describe('files the task will touch', () => {
  const headings = [
    'Files to Modify',
    'Target Files',
    'Files to Create',
    'Files to Create/Modify',
    'Files to Change',
    'files to modify:',
    'FILES TO EDIT',
    'Modified Files',
    'Files Affected',
    '2. Files to Update',
  ];
  for (const heading of headings) {
    it(`reads the list under "${heading}"`, () => {
      expect(parse(`# T\n\n## ${heading}\n- \`src/a.js\`\n- src/b.js\n`).files).toEqual(['src/a.js', 'src/b.js']);
    });
  }

  it('ignores lists under other headings', () => {
    const spec = parse('# T\n\n## Steps\n- src/a.js\n\n## Relevant Files\n- src/b.js\n');
    expect(spec.files).toEqual([]);
  });

  it('takes the backticked path of an item, else its first path-like token, ignoring annotations', () => {
    const spec = parse(
      [
        '## Files to Modify',
        '- `src/math.js` — add clamp (uses lib/util.js)',
        '- test/math.test.js (19 errors)',
        '- Update the README.md file',
        '- src/config.ts: add a key',
        '- **`src/bold.ts`**',
        '- ./src/dotted.js',
        '- A line without any path',
      ].join('\n'),
    );
    expect(spec.files).toEqual(['src/math.js', 'test/math.test.js', 'README.md', 'src/config.ts', 'src/bold.ts', 'src/dotted.js']);
  });

  it('reads files grouped under sub-items and subheadings, but not item descriptions', () => {
    const spec = parse(
      '## Files to Modify\n### Backend\n- `api/server.ts`\n  - add `routes/extra.ts` later\n- Frontend:\n  - `web/app.tsx`\n',
    );
    expect(spec.files).toEqual(['api/server.ts', 'web/app.tsx']);
    expect(spec.mentions).toEqual(['routes/extra.ts']);
  });

  it('adds frontmatter files (a string or a list) to the section', () => {
    expect(parse('---\nfiles: src/**/*.ts\n---\n## Files to Modify\n- a.js\n').files).toEqual(['a.js', 'src/**/*.ts']);
    expect(parse('---\nfiles: [x.js, y.js]\n---\nDo it.\n').files).toEqual(['x.js', 'y.js']);
  });

  it('records other backticked paths as mentions, not files', () => {
    const spec = parse(
      '# T\nRun `npm test` after editing `package.json`.\n\n## Files to Modify\n- `src/a.js`\n\nSee `src/a.js` and `docs/guide.md`.\n',
    );
    expect(spec.files).toEqual(['src/a.js']);
    expect(spec.mentions).toEqual(['package.json', 'docs/guide.md']);
  });

  it('ignores headings and paths inside code blocks', () => {
    const spec = parse('# T\n```md\n## Files to Modify\n- `src/fake.js`\n```\n');
    expect(spec.files).toEqual([]);
    expect(spec.mentions).toEqual([]);
  });
});

describe('path detection', () => {
  it.each(['src/a.js', 'README.md', 'src/', 'src/**/*.ts', 'Makefile', 'a.test.ts', '.env.example', 'docs/*.md'])(
    '%s is a path',
    (token) => {
      expect(isPathLike(token)).toBe(true);
    },
  );
  it.each(['npm test', 'clamp(5, 0, 3)', '1.2.3', 'https://x.org/a.js', 'e.g', '--flag', 'word'])('%s is not a path', (token) => {
    expect(isPathLike(token)).toBe(false);
  });
});

describe('frontmatter', () => {
  it('parses priority, timeout, max_turns, model and depends_on', () => {
    const spec = parse('---\npriority: 5\ntimeout: 20m\nmax_turns: 30\nmodel: sonnet\ndepends_on: [a, prompts/b.md]\n---\nDo it.\n');
    expect(spec).toMatchObject({ priority: 5, timeoutMs: 20 * 60_000, maxTurns: 30, model: 'sonnet', dependsOn: ['a', 'prompts/b.md'] });
  });

  it.each([
    ['90s', 90_000],
    ['2h', 7_200_000],
    [45, 45_000],
  ])('timeout %s is %d ms', (value, expected) => {
    expect(parse(`---\ntimeout: ${value}\n---\nDo it.\n`).timeoutMs).toBe(expected);
  });

  it('ignores unknown keys and warns about them', () => {
    const spec = parse('---\nowner: alice\n---\nDo it.\n');
    expect(spec.warnings).toEqual([
      'prompts/task.md: unknown frontmatter key "owner" is ignored (known keys: id, title, depends_on, files, priority, timeout, max_turns, model)',
    ]);
  });

  it('reports invalid YAML with the file and line', () => {
    expect(() => parse('---\nid: a\nfiles: [x\n---\n', 'prompts/bad.md')).toThrow(/^prompts\/bad\.md:3: invalid YAML frontmatter/);
  });

  it.each([
    ['priority: high', /`priority` must be a number/],
    ['timeout: soon', /`timeout` must be a duration/],
    ['max_turns: 0', /`max_turns` must be a whole number/],
    ['files: {a: 1}', /`files` must be a string or a list/],
    ['depends_on: [[a]]', /`depends_on` must be a string or a list/],
  ])('rejects %s', (line, message) => {
    expect(() => parse(`---\n${line}\n---\n`)).toThrow(message);
  });

  it('rejects frontmatter that is not a mapping', () => {
    expect(() => parse('---\n- a\n---\n')).toThrow(/must be a YAML mapping/);
  });
});

describe('prompts that are not tasks', () => {
  it('rejects a prompt with no text, or only frontmatter', () => {
    expect(() => parsePrompt('', 'p/a.md', '/abs/p/a.md')).toThrow(
      'p/a.md has no task text: write what the task should do, or leave the file out.',
    );
    expect(() => parsePrompt('---\nid: a\npriority: 2\n---\n\n', 'p/a.md', '/abs/p/a.md')).toThrow(
      'p/a.md has no task text after its frontmatter: write what the task should do, or leave the file out.',
    );
  });

  it('decodes UTF-8 (dropping a BOM) and rejects binary and other encodings', () => {
    expect(decodePrompt(Buffer.from('\uFEFF# Café\n', 'utf8'), 'a.md')).toBe('# Café\n');
    expect(() => decodePrompt(Buffer.from([0x23, 0x00]), 'a.md')).toThrow('a.md is a binary file, not a markdown prompt');
    expect(() => decodePrompt(Buffer.from([0x43, 0x61, 0x66, 0xe9]), 'a.md')).toThrow('a.md is not valid UTF-8 text');
  });
});

describe('prompts without frontmatter skip the YAML parser', () => {
  // load.ts splits these itself (frontmatter-split.ts) and loads gray-matter and yaml only for the
  // others: both ways must give the same data and body.
  const texts = [
    '',
    '# Title\nDo it.\n',
    '\uFEFF# Title after a BOM\n',
    'text\n---\nid: not-frontmatter\n---\n',
    ' ---\nid: x\n---\nindented, not frontmatter\n',
    '\n---\nid: x\n---\nblank line first\n',
    '---\nid: x\n---\nbody\n',
    '\uFEFF---\nid: x\n---\nBOM then frontmatter\n',
    '----\nfour dashes\n',
    '---\n---\nempty frontmatter\n',
  ];
  it.each(texts)('%j', (text) => {
    const fast = splitWithoutFrontmatter(text);
    const full = splitFrontmatter(text, 'p/a.md');
    if (fast !== undefined) expect(fast).toEqual(full);
    else expect(text.replace(/^\uFEFF/, '').startsWith('---')).toBe(true);
  });

  it('a prompt file read through loadPrompts gives the same task as parsePrompt, with and without frontmatter', async () => {
    const dir = await tempDir('orch-prompts-');
    await writeFile(path.join(dir, 'a.md'), '# A\nChange `src/a.ts`, after b.\n');
    await writeFile(path.join(dir, 'b.md'), '---\nid: bee\npriority: 3\n---\n# B\nDo b.\n');
    const loaded = await loadPrompts(['a.md', 'b.md'], dir);
    expect(loaded).toEqual([
      parsePrompt('# A\nChange `src/a.ts`, after b.\n', 'a.md', path.join(dir, 'a.md')),
      parsePrompt('---\nid: bee\npriority: 3\n---\n# B\nDo b.\n', 'b.md', path.join(dir, 'b.md')),
    ]);
    expect(loaded.map((spec) => [spec.id, spec.priority])).toEqual([
      ['a', 0],
      ['bee', 3],
    ]);
  });
});

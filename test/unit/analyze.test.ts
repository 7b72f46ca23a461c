import { describe, expect, it } from 'vitest';
import { analyze, describeAnalysisError, type Analysis, type AnalysisError } from '../../src/graph/analyze.js';
import { parsePrompt } from '../../src/prompt/parse.js';

type Files = Record<string, string>;

/** Parsed prompts; each gets a line of task text, so prompts written only to set up references are valid. */
function prompts(files: Files) {
  return Object.entries(files).map(([file, text]) => parsePrompt(`${text}\nTask text.\n`, file, `/abs/${file}`));
}

function analyzed(files: Files, trackedFiles?: string[]): Analysis {
  const result = analyze(prompts(files), trackedFiles ? { trackedFiles } : {});
  if (!result.ok) throw new Error(describeAnalysisError(result.error));
  return result.value;
}

function failure(files: Files, trackedFiles?: string[]): AnalysisError {
  const result = analyze(prompts(files), trackedFiles ? { trackedFiles } : {});
  if (result.ok) throw new Error('expected an analysis error');
  return result.error;
}

const deps = (analysis: Analysis, id: string) => analysis.tasks.find((t) => t.id === id)?.dependsOn;

describe('dependencies in prose', () => {
  const base = { 'prompts/parser.md': '# Build the parser\n', 'prompts/lexer.md': '# Lexer\n' };

  it.each([
    'This task depends on parser.',
    'Run this after parser is merged.',
    'It requires parser.',
    'Blocked by parser.',
    'This builds on parser.',
    'This depends on `parser`.',
    'This depends on prompts/parser.md.',
    'This depends on parser.md.',
    'This depends on prompts/parser.',
    'This depends on Build The Parser.',
    'THIS DEPENDS ON PARSER.',
  ])('"%s" makes a dependency', (sentence) => {
    expect(deps(analyzed({ ...base, 'prompts/x.md': `# X\n\n${sentence}\n` }), 'x')).toEqual(['parser']);
  });

  it('reads lists of references', () => {
    expect(deps(analyzed({ ...base, 'prompts/x.md': 'Depends on `parser`, `lexer`.\n' }), 'x')).toEqual(['parser', 'lexer']);
    expect(deps(analyzed({ ...base, 'prompts/x.md': 'Depends on parser and lexer.\n' }), 'x')).toEqual(['parser', 'lexer']);
  });

  it('reads items under a Dependencies heading', () => {
    const analysis = analyzed({ ...base, 'prompts/x.md': '## Dependencies\n- parser (must be merged first)\n- Needs the Lexer output\n' });
    expect(deps(analysis, 'x')).toEqual(['parser', 'lexer']);
  });

  it('skips filler words before a name', () => {
    expect(deps(analyzed({ ...base, 'prompts/x.md': 'Run this after the parser task.\n' }), 'x')).toEqual(['parser']);
  });

  it('ignores a task naming itself', () => {
    expect(deps(analyzed({ ...base, 'prompts/x.md': '# X\nRun x after lunch; x depends on x.\n' }), 'x')).toEqual([]);
  });

  it('prefers the longest matching name', () => {
    const analysis = analyzed({ 'a.md': 'depends on add-parser-v2\n', 'add-parser.md': '', 'add-parser-v2.md': '' });
    expect(deps(analysis, 'a')).toEqual(['add-parser-v2']);
  });

  it('does not match a name inside a longer word', () => {
    const analysis = analyzed({ 'a.md': 'depends on parser-extras\n', 'parser.md': '' });
    expect(deps(analysis, 'a')).toEqual([]);
    expect(analysis.warnings.join('\n')).toContain('"parser-extras"');
  });

  it('warns about references that name no task, but not about ordinary English', () => {
    const analysis = analyzed({
      ...base,
      'prompts/x.md':
        '# X\nThis depends on `add-widgets`. Refresh after the user clicks. It requires care.\n## Dependencies\n- nonexistent-task\n- None\n',
    });
    expect(deps(analysis, 'x')).toEqual([]);
    expect(analysis.warnings).toHaveLength(2);
    expect(analysis.warnings[0]).toContain('"add-widgets"');
    expect(analysis.warnings[1]).toContain('"nonexistent-task"');
  });

  it('takes very short ids in prose only when they stand alone or are quoted', () => {
    const short = { 'a.md': '', 'b.md': '' };
    expect(deps(analyzed({ ...short, 'x.md': 'Run this after a while, once b settles.\n' }), 'x')).toEqual([]);
    expect(deps(analyzed({ ...short, 'x.md': 'This depends on a.\n' }), 'x')).toEqual(['a']);
    expect(deps(analyzed({ ...short, 'x.md': 'Run after a and b.\n' }), 'x')).toEqual(['a', 'b']);
    expect(deps(analyzed({ ...short, 'x.md': 'Start after `a` is merged.\n' }), 'x')).toEqual(['a']);
    expect(deps(analyzed({ ...short, 'x.md': '## Dependencies\n- needs a database\n- b\n' }), 'x')).toEqual(['b']);
  });

  it('ignores phrases in code blocks', () => {
    expect(deps(analyzed({ ...base, 'prompts/x.md': '```\nthis depends on parser\n```\n' }), 'x')).toEqual([]);
  });
});

describe('frontmatter dependencies and ids', () => {
  it('resolves depends_on by id or prompt path', () => {
    const analysis = analyzed({
      'prompts/a.md': '---\nid: alpha\n---\n',
      'prompts/b.md': '---\ndepends_on: [alpha]\n---\n',
      'prompts/c.md': '---\ndepends_on: prompts/b.md\n---\n',
    });
    expect(deps(analysis, 'b')).toEqual(['alpha']);
    expect(deps(analysis, 'c')).toEqual(['b']);
  });

  it('rejects a depends_on naming no task', () => {
    const error = failure({ 'a.md': '---\ndepends_on: [ghost]\n---\n', 'b.md': '' });
    expect(error).toMatchObject({ kind: 'unknown-dependency', file: 'a.md', ref: 'ghost' });
    expect(describeAnalysisError(error)).toMatch(/^a\.md: depends_on "ghost" names no task in this set \(tasks: a, b\)/);
  });

  it('rejects two files with the same id, naming both', () => {
    const error = failure({ 'one/task.md': '', 'two/task.md': '' });
    expect(describeAnalysisError(error)).toContain('duplicate task id "task" in one/task.md and two/task.md');
  });

  it('names a cycle', () => {
    const error = failure({ 'a.md': '---\ndepends_on: [b]\n---\n', 'b.md': 'This depends on a.\n', 'c.md': '' });
    expect(error).toEqual({ kind: 'cycle', cycle: ['a', 'b', 'a'] });
    expect(describeAnalysisError(error)).toContain('dependency cycle: a → b → a');
  });

  it('treats a task depending on itself in frontmatter as a cycle', () => {
    expect(failure({ 'a.md': '---\ndepends_on: a\n---\n' })).toEqual({ kind: 'cycle', cycle: ['a', 'a'] });
  });
});

describe('file conflicts', () => {
  const task = (files: string[], extra = '') => `---\nfiles: ${JSON.stringify(files)}\n${extra}---\n`;

  it('finds tasks touching the same path', () => {
    const analysis = analyzed({ 'a.md': task(['src/x.js', 'src/y.js']), 'b.md': task(['src/y.js']), 'c.md': task(['src/z.js']) });
    expect(analysis.conflicts).toEqual([{ a: 'a', b: 'b', files: ['src/y.js'] }]);
  });

  it('matches a glob against tracked files and the other task’s literal paths', () => {
    const tracked = ['src/a.ts', 'src/b.ts', 'docs/x.md'];
    const analysis = analyzed(
      { 'g.md': task(['src/**/*.ts']), 'lit.md': task(['src/new.ts']), 'tracked.md': task(['src/a.ts']), 'docs.md': task(['docs/x.md']) },
      tracked,
    );
    expect(analysis.conflicts).toEqual([
      { a: 'g', b: 'lit', files: ['src/new.ts'] },
      { a: 'g', b: 'tracked', files: ['src/a.ts'] },
    ]);
  });

  it('finds two globs that match a common tracked file', () => {
    const analysis = analyzed({ 'a.md': task(['src/*.ts']), 'b.md': task(['**/a.ts']), 'c.md': task(['src/*.css']) }, [
      'src/a.ts',
      'src/b.css',
    ]);
    expect(analysis.conflicts).toEqual([{ a: 'a', b: 'b', files: ['src/a.ts'] }]);
  });

  it('treats a directory as containing the files under it', () => {
    const analysis = analyzed({ 'a.md': task(['src/']), 'b.md': task(['src/deep/file.js']), 'c.md': task(['srcx/file.js']) });
    expect(analysis.conflicts).toEqual([{ a: 'a', b: 'b', files: ['src/deep/file.js'] }]);
  });

  it('never uses mentions for conflicts', () => {
    const analysis = analyzed({
      'a.md': 'Update `package.json`.\n## Files to Modify\n- src/a.js\n',
      'b.md': 'Uses `package.json`.\n## Files to Modify\n- package.json\n',
    });
    expect(analysis.conflicts).toEqual([]);
  });

  it('needs a repository for globs', () => {
    expect(failure({ 'a.md': task(['src/**']) })).toMatchObject({ kind: 'needs-repo', file: 'a.md', pattern: 'src/**' });
  });
});

describe('waves', () => {
  it('puts dependencies in earlier waves and keeps conflicting tasks apart', () => {
    const analysis = analyzed({
      'a.md': '---\nfiles: [shared.js]\n---\n',
      'b.md': '---\nfiles: [shared.js]\n---\n',
      'c.md': '---\ndepends_on: [a]\n---\n',
      'd.md': '',
    });
    expect(analysis.waves).toEqual([
      ['a', 'd'],
      ['b', 'c'],
    ]);
  });

  it('orders by priority, then by the order the files were given', () => {
    const analysis = analyzed({
      'low.md': '---\nfiles: [x]\n---\n',
      'high.md': '---\nfiles: [x]\npriority: 10\n---\n',
      'other.md': '',
    });
    expect(analysis.waves).toEqual([['high', 'other'], ['low']]);
  });

  it('holds every task exactly once', () => {
    const files: Files = {};
    for (let i = 0; i < 30; i++)
      files[`t${i}.md`] = `---\nfiles: [f${i % 4}]\n${i > 0 ? `depends_on: [t${Math.floor(i / 2)}]\n` : ''}---\n`;
    const analysis = analyzed(files);
    const flat = analysis.waves.flat();
    expect(flat.sort()).toEqual(
      Object.keys(files)
        .map((f) => f.replace('.md', ''))
        .sort(),
    );
    const waveOf = new Map(analysis.waves.flatMap((wave, index) => wave.map((id) => [id, index] as const)));
    for (const taskNode of analysis.tasks)
      for (const dep of taskNode.dependsOn) expect(waveOf.get(dep)!).toBeLessThan(waveOf.get(taskNode.id)!);
  });
});

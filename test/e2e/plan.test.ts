import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempRepo } from '../support/git.js';
import { runOrch } from '../support/orch.js';
import { tempDir, writeFiles } from '../support/tmp.js';

/** A set like the README's example: chains, conflict pairs, frontmatter and prose dependencies, mentions. */
const EXAMPLE = {
  'prompts/add-number-parsing.md':
    '# Add number parsing\n\n## Files to Modify\n- `src/parse.js`\n- `test/parse.test.js`\n\nKeep `package.json` untouched.\n',
  'prompts/add-clamp.md':
    '# Add clamp() to the math module\n\n## Overview\nCallers keep writing Math.min(Math.max(...)). Provide a helper.\n\n## Files to Modify\n- `src/math.js`\n- `test/math.test.js`\n\n## Dependencies\nThis task depends on add-number-parsing.\n\n## Success Criteria\n- clamp(5, 0, 3) === 3\n',
  'prompts/add-round.md':
    '---\nid: round\npriority: 5\ndepends_on: [add-number-parsing]\nfiles: [src/math.js]\n---\n# Add round()\nSee `docs/math.md`.\n',
  'prompts/docs.md':
    '# Document the math module\n\nThis builds on Add clamp() to the math module.\n\n## Target Files\n- docs/math.md (new)\n',
  'prompts/lint.md': '---\nfiles: ["src/**/*.js"]\n---\n# Lint everything\n',
};

async function listTree(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true });
  return entries.filter((entry) => !entry.startsWith('.git')).sort();
}

describe('orch plan', () => {
  it('prints the tasks, dependencies, conflicts and waves', async () => {
    const repo = await tempRepo({ 'src/math.js': '', 'src/parse.js': '', 'README.md': '' });
    await writeFiles(repo, EXAMPLE);
    const result = await runOrch(['plan', 'prompts/*.md'], { cwd: repo });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('add-clamp  Add clamp() to the math module  prompts/add-clamp.md');
    // round runs in an earlier wave than add-clamp: add-clamp builds on it.
    expect(result.stdout).toMatch(/add-clamp ⟷ round: src\/math\.js · add-clamp runs after round and builds on its work/);
    expect(result.stdout).toMatch(/Waves \(\d\)\n {2}1: add-number-parsing\n/);
    expect(result.stdout).toContain('mentions:   package.json');
  });

  it('prints the same analysis as JSON', async () => {
    const repo = await tempRepo({ 'src/math.js': '', 'src/parse.js': '', 'README.md': '' });
    await writeFiles(repo, EXAMPLE);
    const result = await runOrch(['plan', '--json', 'prompts/*.md'], { cwd: repo });
    expect(result.exitCode).toBe(0);
    const plan = JSON.parse(result.stdout) as {
      tasks: Array<{ id: string; title: string; file: string; dependsOn: string[]; files: string[]; mentions: string[]; priority: number }>;
      conflicts: Array<{ a: string; b: string; files: string[] }>;
      waves: string[][];
      warnings: string[];
    };
    const byId = Object.fromEntries(plan.tasks.map((task) => [task.id, task]));
    expect(Object.keys(byId).sort()).toEqual(['add-clamp', 'add-number-parsing', 'docs', 'lint', 'round']);
    expect(byId['add-clamp']).toEqual({
      id: 'add-clamp',
      title: 'Add clamp() to the math module',
      file: 'prompts/add-clamp.md',
      dependsOn: ['add-number-parsing'],
      files: ['src/math.js', 'test/math.test.js'],
      mentions: [],
      priority: 0,
    });
    expect(byId['round']).toMatchObject({ dependsOn: ['add-number-parsing'], priority: 5, mentions: ['docs/math.md'] });
    expect(byId['docs']).toMatchObject({ dependsOn: ['add-clamp'], files: ['docs/math.md'] });
    expect(byId['add-number-parsing']!.mentions).toEqual(['package.json']);
    // Files are taken in the glob's sorted order: add-clamp, add-number-parsing, add-round, docs, lint.
    // For each pair, which runs first and which then builds on it (from the waves below).
    expect(plan.conflicts).toEqual([
      { a: 'add-clamp', b: 'round', files: ['src/math.js'], first: 'round', then: 'add-clamp' },
      { a: 'add-clamp', b: 'lint', files: ['src/math.js'], first: 'add-clamp', then: 'lint' },
      { a: 'add-number-parsing', b: 'lint', files: ['src/parse.js'], first: 'add-number-parsing', then: 'lint' },
      { a: 'round', b: 'lint', files: ['src/math.js'], first: 'round', then: 'lint' },
    ]);
    // round (priority 5) goes as soon as its dependency is done; lint conflicts with three tasks.
    expect(plan.waves).toEqual([['add-number-parsing'], ['round'], ['add-clamp'], ['docs', 'lint']]);
    expect(plan.warnings).toEqual([]);
  });

  const errors: Array<[string, Record<string, string | Uint8Array>, string[], RegExp]> = [
    ['a missing file', {}, ['prompts/nope.md'], /^orch: prompt file not found: prompts\/nope\.md/],
    ['a glob matching nothing', {}, ['prompts/*.txt'], /^orch: no prompt files match "prompts\/\*\.txt"/],
    ['invalid YAML', { 'p/bad.md': '---\nid: x\ndepends_on: [a\n---\n' }, ['p/bad.md'], /^orch: p\/bad\.md:3: invalid YAML frontmatter/],
    ['a cycle', { 'p/a.md': 'depends on b\n', 'p/b.md': 'depends on a\n' }, ['p/a.md', 'p/b.md'], /^orch: dependency cycle: a → b → a/],
    [
      'a duplicate id',
      { 'p/a.md': 'Do a.\n', 'q/a.md': 'Do a.\n' },
      ['p/a.md', 'q/a.md'],
      /^orch: duplicate task id "a" in p\/a\.md and q\/a\.md/,
    ],
    [
      'an unknown depends_on',
      { 'p/a.md': '---\ndepends_on: [zzz]\n---\nDo a.\n' },
      ['p/a.md'],
      /^orch: p\/a\.md: depends_on "zzz" names no task/,
    ],
    [
      'an empty prompt file',
      { 'p/a.md': '\n  \n' },
      ['p/a.md'],
      /^orch: p\/a\.md has no task text: write what the task should do, or leave the file out\.$/,
    ],
    [
      'a prompt that is only frontmatter',
      { 'p/a.md': '---\nid: a\n---\n' },
      ['p/a.md'],
      /^orch: p\/a\.md has no task text after its frontmatter/,
    ],
    [
      'a binary file',
      { 'p/a.md': new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x00, 0x01]) },
      ['p/a.md'],
      /^orch: p\/a\.md is a binary file, not a markdown prompt/,
    ],
    [
      'a file that is not UTF-8',
      { 'p/a.md': new Uint8Array([0x23, 0x20, 0x43, 0x61, 0x66, 0xe9, 0x0a]) },
      ['p/a.md'],
      /^orch: p\/a\.md is not valid UTF-8 text: save it as UTF-8/,
    ],
    ['an empty directory of prompts', { 'p/readme.txt': 'not a prompt\n' }, ['p'], /^orch: no \.md prompt files in directory p\.$/],
  ];
  for (const [name, files, args, message] of errors) {
    it(`rejects ${name}: one line on stderr, exit 2, nothing written`, async () => {
      const dir = await tempDir();
      await writeFiles(dir, files);
      const before = await listTree(dir);
      const result = await runOrch(['plan', ...args], { cwd: dir });
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).not.toMatch(/\n\s+at /);
      expect(result.stdout).toBe('');
      expect(await listTree(dir)).toEqual(before);
    });
  }

  it('works outside a git repository when no glob needs one', async () => {
    const dir = await tempDir();
    await writeFiles(dir, { 'a.md': '## Files to Modify\n- x.js\n', 'b.md': '---\nfiles: [x.js]\n---\nEdit x.\n' });
    const result = await runOrch(['plan', '--json', 'a.md', 'b.md'], { cwd: dir });
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout).conflicts).toEqual([{ a: 'a', b: 'b', files: ['x.js'], first: 'a', then: 'b' }]);
    expect(await readdir(dir)).toEqual(expect.not.arrayContaining(['.gadugi']));
  });

  it('explains that globs in files need a repository', async () => {
    const dir = await tempDir();
    await writeFiles(dir, { 'a.md': '---\nfiles: ["src/**"]\n---\nEdit src.\n' });
    const result = await runOrch(['plan', 'a.md'], { cwd: dir });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/^orch: a\.md: files pattern "src\/\*\*" is a glob.*run orch inside a git repository/);
  });

  it('accepts a directory of prompts and reports a usage error with exit 2', async () => {
    const dir = await tempDir();
    await writeFiles(dir, { 'prompts/a.md': '# A\n', 'prompts/notes.txt': 'ignored' });
    const result = await runOrch(['plan', '--json', 'prompts'], { cwd: dir });
    expect(JSON.parse(result.stdout).tasks.map((t: { file: string }) => t.file)).toEqual([path.join('prompts', 'a.md')]);
    const usage = await runOrch(['plan', '--frobnicate', 'prompts'], { cwd: dir });
    expect(usage.exitCode).toBe(2);
    expect(usage.stderr).toContain("unknown option '--frobnicate'");
  });
});

describe('orch plan: the critical path and the expected length of the run', () => {
  /** Four short tasks given first, a chain of three given last. */
  const CHAIN_LAST = {
    'prompts/1-a.md': '# a\nDo a.\n',
    'prompts/2-b.md': '# b\nDo b.\n',
    'prompts/3-c.md': '# c\nDo c.\n',
    'prompts/4-d.md': '# d\nDo d.\n',
    'prompts/5-x.md': '---\nid: x\n---\n# x\nFirst link.\n',
    'prompts/6-y.md': '---\nid: y\ndepends_on: [x]\n---\n# y\nSecond link.\n',
    'prompts/7-z.md': '---\nid: z\ndepends_on: [y]\n---\n# z\nThird link.\n',
  };

  it('shows the chain as the critical path and the expected length, in tasks when nothing was measured', async () => {
    const repo = await tempRepo({ 'README.md': '' });
    await writeFiles(repo, CHAIN_LAST);
    const result = await runOrch(['plan', '--max-parallel', '2', 'prompts/*.md'], { cwd: repo });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('Critical path (3 tasks)\n  x → y → z\n');
    // 7 tasks on 2 slots: x first, then y and z each the moment the link before ends: 4 tasks long.
    expect(result.stdout).toContain(
      'expected length of the run: 4 tasks with 2 at once (maxParallel); no schedule is shorter than 3.5 tasks',
    );
    expect(result.stdout).toContain('durations: no earlier run of these tasks in this repository, so each counts as one task');
  });

  it('gives the same in --json', async () => {
    const repo = await tempRepo({ 'README.md': '' });
    await writeFiles(repo, { ...CHAIN_LAST, '.gadugi/config.json': '{ "maxParallel": 3 }' });
    const result = await runOrch(['plan', '--json', 'prompts/*.md'], { cwd: repo });
    expect(result.exitCode).toBe(0);
    const { schedule } = JSON.parse(result.stdout) as { schedule: Record<string, unknown> & { durations: Record<string, unknown> } };
    expect(schedule).toMatchObject({
      slots: 3,
      slotsFrom: 'max-parallel',
      unit: 'task',
      criticalPath: ['x', 'y', 'z'],
      criticalPathLength: 3,
      expectedLength: 3,
      lowerBound: 3,
    });
    expect(schedule.durations['1-a']).toEqual({ expected: 1, source: 'unit' });
  });

  it('rejects a --max-parallel that is not a whole number: one line, exit 2', async () => {
    const repo = await tempRepo({ 'README.md': '' });
    await writeFiles(repo, CHAIN_LAST);
    const result = await runOrch(['plan', '--max-parallel', 'many', 'prompts/*.md'], { cwd: repo });
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^orch: invalid config value for "maxParallel" \(from --max-parallel\)/);
  });

  it('reports the first of several mistakes, in the order prompts, config, --max-parallel, though it reads them at once', async () => {
    // plan reads the config and probes the sandbox while it parses the prompts: the answer is
    // still the one reading them one after another would give.
    const repo = await tempRepo({ 'README.md': '' });
    await writeFiles(repo, {
      'prompts/a.md': '---\ndepends_on: [nowhere]\n---\nDo a.\n',
      '.gadugi/config.json': '{ "agent": { "permissionMode": "ask" } }',
    });
    const plan = (...args: string[]) => runOrch(['plan', ...args, 'prompts/a.md'], { cwd: repo });
    const first = async (...args: string[]) => {
      const result = await plan(...args);
      expect(result.exitCode).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      return result.stderr;
    };
    expect(await first('--max-parallel', 'many')).toMatch(/^orch: .*nowhere/);
    await writeFiles(repo, { 'prompts/a.md': '# A\nDo a.\n' });
    expect(await first('--max-parallel', 'many')).toMatch(
      /^orch: invalid config value for "agent\.permissionMode" \(from \.gadugi\/config\.json\)/,
    );
    await writeFiles(repo, { '.gadugi/config.json': '{}' });
    expect(await first('--max-parallel', 'many')).toMatch(/^orch: invalid config value for "maxParallel" \(from --max-parallel\)/);
    expect((await plan('--max-parallel', '2')).exitCode).toBe(0);
  });
});

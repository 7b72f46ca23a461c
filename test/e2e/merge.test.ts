import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentScript, agentStarts, agentState, fakeAgentEnv } from '../support/agents.js';
import { expectOneLine } from '../support/expect.js';
import { git, tempRepo } from '../support/git.js';
import { runOrch } from '../support/orch.js';
import { readLedger, readRunRegistry } from '../support/run-state.js';
import { startOrch, waitFor } from '../support/spawn.js';
import { writeFiles } from '../support/tmp.js';

/** A small JavaScript library with tests (`node --test`), as the example repository. */
const LIBRARY = {
  'package.json': '{ "name": "mathlib", "type": "module", "scripts": { "test": "node --test" } }\n',
  'src/math.js': 'export const add = (a, b) => a + b;\n',
  'test/math.test.js':
    "import assert from 'node:assert/strict';\nimport { test } from 'node:test';\nimport { add } from '../src/math.js';\n\ntest('add', () => assert.equal(add(2, 3), 5));\n",
  'README.md': '# mathlib\n',
};

const testFor = (name: string, module: string, expression: string, expected: string) =>
  `import assert from 'node:assert/strict';\nimport { test } from 'node:test';\nimport { ${name} } from '../src/${module}.js';\n\ntest('${name}', () => assert.deepEqual(${expression}, ${expected}));\n`;

/** A task that appends a function to a file, adds its test, and commits. */
function appends(
  id: string,
  file: string,
  code: string,
  test?: { name: string; module: string; expression: string; expected: string },
): object[] {
  const steps: object[] = [{ append: file, content: code }];
  if (test) steps.push({ write: `test/${id}.test.js`, content: testFor(test.name, test.module, test.expression, test.expected) });
  steps.push({ commit: `${id}: ${file}` });
  return steps;
}

const prompt = (title: string, body: string, steps: object[], extra = '') => `# ${title}\n${body}\n${agentScript({ steps })}${extra}`;

/** Every first-parent commit of the integration branch since the base: its trailer and parents. */
async function integrationCommits(repo: string, branch: string, base: string): Promise<Array<{ task: string; parents: number }>> {
  const output = await git(
    repo,
    'log',
    '--reverse',
    '--first-parent',
    '--format=%P%x1f%(trailers:key=Orch-Task,valueonly)%x1e',
    `${base}..${branch}`,
  );
  return output
    .split('\x1e')
    .map((record) => record.trim())
    .filter(Boolean)
    .map((record) => {
      const [parents, trailer] = record.split('\x1f');
      return { task: trailer!.trim().split('/')[1]!, parents: parents!.trim().split(' ').length };
    });
}

describe('orch merge: one tested branch from a run', () => {
  it('integrates every task in dependency order, one merge commit each; conflicting tasks were built on each other', async () => {
    const repo = await tempRepo(LIBRARY);
    await writeFiles(repo, {
      // Two pairs of conflicting tasks (they declare the same file), a dependency chain, independent tasks.
      'prompts/clamp.md': prompt(
        'Add clamp()',
        '## Files to Modify\n- src/math.js',
        appends('clamp', 'src/math.js', 'export const clamp = (v, lo, hi) => Math.min(Math.max(v, lo), hi);\n', {
          name: 'clamp',
          module: 'math',
          expression: 'clamp(5, 0, 3)',
          expected: '3',
        }),
      ),
      'prompts/lerp.md': prompt(
        'Add lerp()',
        '## Files to Modify\n- src/math.js',
        appends('lerp', 'src/math.js', 'export const lerp = (a, b, t) => a + (b - a) * t;\n', {
          name: 'lerp',
          module: 'math',
          expression: 'lerp(0, 10, 0.5)',
          expected: '5',
        }),
      ),
      'prompts/format.md': prompt(
        'Add a formatter',
        '## Files to Modify\n- src/format.js',
        appends('format', 'src/format.js', 'export const format = (n) => n.toFixed(2);\n', {
          name: 'format',
          module: 'format',
          expression: 'format(1)',
          expected: "'1.00'",
        }),
      ),
      'prompts/pad.md': prompt(
        'Add pad()',
        '## Files to Modify\n- src/format.js',
        appends('pad', 'src/format.js', "export const pad = (s, n) => String(s).padStart(n, ' ');\n", {
          name: 'pad',
          module: 'format',
          expression: 'pad(7, 3)',
          expected: "'  7'",
        }),
      ),
      'prompts/sum.md': prompt(
        'Add sum()',
        '## Files to Modify\n- src/sum.js',
        appends('sum', 'src/sum.js', 'export const sum = (xs) => xs.reduce((t, x) => t + x, 0);\n', {
          name: 'sum',
          module: 'sum',
          expression: 'sum([1, 2, 3])',
          expected: '6',
        }),
      ),
      'prompts/index.md': prompt(
        'Export everything',
        'This depends on format, pad and sum.',
        appends('index', 'src/index.js', "export * from './math.js';\nexport * from './format.js';\nexport * from './sum.js';\n"),
      ),
      'prompts/docs.md': prompt(
        'Document the math module',
        'This depends on clamp and lerp.',
        appends('docs', 'docs/math.md', '# math\n\nadd, clamp, lerp.\n'),
      ),
      'prompts/readme.md': prompt(
        'Mention the index in the README',
        'This depends on index.',
        appends('readme', 'README.md', '\nImport everything from `src/index.js`.\n'),
      ),
      'prompts/changelog.md': prompt('Start a changelog', '', appends('changelog', 'CHANGELOG.md', '# Changelog\n')),
    });
    await git(repo, 'add', '-A');
    await git(repo, 'commit', '-q', '-m', 'prompts');
    const headBefore = await git(repo, 'rev-parse', 'HEAD');
    const state = await agentState();
    const env = fakeAgentEnv(state);

    const plan = await runOrch(['plan', 'prompts/*.md'], { cwd: repo });
    expect(plan.stdout).toMatch(/clamp ⟷ lerp: src\/math\.js · lerp runs after clamp and builds on its work/);
    const run = await runOrch(['run', 'prompts/*.md'], { cwd: repo, env });
    expect(run.exitCode).toBe(0);
    const registry = await readRunRegistry(repo);
    const task = (id: string) => registry.tasks.find((candidate) => candidate.id === id)!;
    // Conflicting edits became sequential edits: lerp's branch holds clamp's, its own commits do not.
    expect(task('lerp').builtOn).toEqual(['clamp']);
    expect(task('pad').builtOn).toEqual(['format']);
    expect(task('lerp').commits.map((commit) => commit.subject)).toEqual(['lerp: src/math.js']);
    expect(await git(repo, 'show', `${task('lerp').branch}:src/math.js`)).toContain('clamp');

    const merged = await runOrch(['merge', '--check', 'node --test'], { cwd: repo, env });
    expect(merged.stderr).toBe('');
    expect(merged.exitCode).toBe(0);
    const after = await readRunRegistry(repo);
    const branch = `orch/${after.run.id}/integration`;
    expect(after.run.merge).toMatchObject({ branch, status: 'finished', exitCode: 0 });
    expect(after.tasks.map((entry) => [entry.id, entry.merge?.status])).toEqual(after.tasks.map((entry) => [entry.id, 'merged']));

    // One merge commit per task, in dependency order, nothing merged twice.
    const commits = await integrationCommits(repo, branch, after.run.baseSha);
    expect(commits.map((commit) => commit.parents)).toEqual(commits.map(() => 2));
    const order = commits.map((commit) => commit.task);
    expect([...order].sort()).toEqual(after.tasks.map((entry) => entry.id).sort());
    const before = (a: string, b: string) => expect(order.indexOf(a)).toBeLessThan(order.indexOf(b));
    before('clamp', 'lerp');
    before('format', 'pad');
    before('clamp', 'docs');
    before('lerp', 'docs');
    before('pad', 'index');
    before('sum', 'index');
    before('index', 'readme');
    // The example's tests pass on the integration branch: the check ran after every merge, and again here.
    const checks = (await readLedger(repo)).filter((event) => event.type === 'merge-check');
    expect(checks).toHaveLength(9);
    expect(checks.every((event) => event.type === 'merge-check' && event.passed)).toBe(true);
    const integration = after.run.merge!.worktree;
    expect(await git(integration, 'rev-parse', 'HEAD')).toBe(await git(repo, 'rev-parse', branch));
    const { execa } = await import('execa');
    expect((await execa('node', ['--test'], { cwd: integration, reject: false })).exitCode).toBe(0);
    expect(merged.stdout).toMatch(/orch\/\S+\/integration at [0-9a-f]{9}: 9 merged/);

    // The user's checkout is untouched.
    expect(await git(repo, 'rev-parse', 'HEAD')).toBe(headBefore);
    expect(await git(repo, 'status', '--porcelain')).toBe('');

    // Merging again integrates nothing twice.
    const again = await runOrch(['merge', '--json'], { cwd: repo, env });
    expect(again.exitCode).toBe(0);
    expect(await integrationCommits(repo, branch, after.run.baseSha)).toEqual(commits);

    // clean: the task branches are safe on the integration branch, which is kept (its work is on no other branch).
    const cleaned = await runOrch(['clean', '--branches', '--json'], { cwd: repo });
    expect(cleaned.exitCode).toBe(0);
    const actions = (JSON.parse(cleaned.stdout) as { actions: Array<{ kind: string; target: string; result: string; reason?: string }> })
      .actions;
    expect(actions.filter((action) => action.kind === 'branch' && action.result === 'deleted')).toHaveLength(9);
    expect(actions.find((action) => action.target === `orch/${after.run.id}/changelog`)).toMatchObject({
      result: 'deleted',
      reason: `its commits are on ${branch}`,
    });
    expect(actions.find((action) => action.target === branch)).toMatchObject({ kind: 'branch', result: 'kept' });
    expect(actions.find((action) => action.kind === 'worktree' && action.target.endsWith('@integration'))).toMatchObject({
      result: 'removed',
    });
    expect((await git(repo, 'branch', '--list', 'orch/*', '--format=%(refname:short)')).trim()).toBe(branch);
  });

  it('reports a conflict with its files; with --resolve an agent resolves it and no marker remains', async () => {
    const repo = await tempRepo(LIBRARY);
    // Both rewrite the same line without saying so: they run side by side, and their branches conflict.
    const resolved = 'export const add = (a, b) => a + b; // checked: numbers only\nexport const twice = (x) => add(x, x);\n';
    await writeFiles(repo, {
      'prompts/a.md': prompt('Annotate add', '', [
        { write: 'src/math.js', content: 'export const add = (a, b) => a + b; // checked: numbers only\n' },
        { commit: 'annotate add' },
      ]),
      'prompts/b.md': prompt(
        'Add twice()',
        '',
        [
          { write: 'src/math.js', content: 'export const add = (a, b) => a + b;\nexport const twice = (x) => add(x, x);\n' },
          { commit: 'add twice' },
        ],
        `\n\`\`\`fake-resolver\n${JSON.stringify({ steps: [{ write: 'src/math.js', content: resolved }, { sh: 'git add -A && git commit -q --no-edit' }] })}\n\`\`\`\n`,
      ),
    });
    const state = await agentState();
    const env = fakeAgentEnv(state);
    expect((await runOrch(['run', 'prompts/*.md'], { cwd: repo, env })).exitCode).toBe(0);

    const plan = await runOrch(['merge', '--dry-run', '--json'], { cwd: repo, env });
    expect(JSON.parse(plan.stdout)).toMatchObject({
      steps: [
        { taskId: 'a', kind: 'merge' },
        { taskId: 'b', kind: 'conflict', files: ['src/math.js'] },
      ],
      pairwise: [{ a: 'a', b: 'b', files: ['src/math.js'] }],
    });
    expect(await git(repo, 'branch', '--list', 'orch/*/integration')).toBe('');

    const refused = await runOrch(['merge'], { cwd: repo, env });
    expect(refused.exitCode).toBe(1);
    expect(refused.stdout).toMatch(/✗ b conflict in src\/math\.js/);
    const registry = await readRunRegistry(repo);
    expect(registry.tasks.map((task) => task.merge)).toMatchObject([
      { status: 'merged' },
      { status: 'conflict', conflictFiles: ['src/math.js'] },
    ]);
    const worktree = registry.run.merge!.worktree;
    expect(await git(worktree, 'status', '--porcelain')).toBe('');

    const resolving = await runOrch(['merge', '--resolve', '--check', 'node --test'], { cwd: repo, env });
    expect(resolving.exitCode).toBe(0);
    const after = await readRunRegistry(repo);
    expect(after.tasks[1]!.merge).toMatchObject({ status: 'merged', resolution: { outcome: 'resolved' } });
    const branch = after.run.merge!.branch;
    expect(await git(repo, 'show', `${branch}:src/math.js`)).toBe(resolved.trimEnd());
    expect(await git(repo, 'grep', '-c', '-E', '^(<<<<<<<|>>>>>>>)', branch).catch(() => 'no markers')).toBe('no markers');
    expect((await integrationCommits(repo, branch, after.run.baseSha)).map((commit) => commit.task)).toEqual(['a', 'b']);
    // The merge agent got the resolve prompt, in the integration worktree.
    const resolver = (await agentStarts(state)).find((start) => start.taskId === 'b' && (start as { resolving?: boolean }).resolving);
    expect(resolver?.cwd).toBe(after.run.merge!.worktree);
    const resolvePrompt = await readFile(path.join(repo, '.gadugi', 'runs', after.run.id, 'prompts', 'b.resolve.md'), 'utf8');
    expect(resolvePrompt).toContain('- `src/math.js`');
    expect(resolvePrompt).toContain('## Already integrated, touching the same files\n\n### a: Annotate add');
  });

  it('undoes a merge that breaks the check and holds what builds on it; batches of 4 find the same culprit by bisection', async () => {
    const setup = async () => {
      const repo = await tempRepo(LIBRARY);
      await writeFiles(repo, {
        'prompts/good.md': prompt(
          'Good',
          '',
          appends('good', 'src/good.js', 'export const good = 1;\n', { name: 'good', module: 'good', expression: 'good', expected: '1' }),
        ),
        'prompts/breaks.md': prompt('Breaks add()', '', [
          { write: 'src/math.js', content: 'export const add = (a, b) => a - b;\n' },
          { commit: 'oops' },
        ]),
        'prompts/builds.md': prompt(
          'Builds on it',
          'This depends on breaks.',
          appends('builds', 'src/more.js', 'export const more = 2;\n'),
        ),
        'prompts/fine.md': prompt('Fine', '', appends('fine', 'src/fine.js', 'export const fine = 3;\n')),
      });
      const state = await agentState();
      expect((await runOrch(['run', 'prompts/*.md'], { cwd: repo, env: fakeAgentEnv(state) })).exitCode).toBe(0);
      return repo;
    };
    const outcome = async (repo: string, args: string[]) => {
      const result = await runOrch(['merge', '--check', 'node --test', ...args], { cwd: repo });
      const registry = await readRunRegistry(repo);
      return {
        exitCode: result.exitCode,
        statuses: Object.fromEntries(registry.tasks.map((task) => [task.id, task.merge?.status])),
        integrated: (await integrationCommits(repo, registry.run.merge!.branch, registry.run.baseSha)).map((commit) => commit.task),
        checks: (await readLedger(repo)).filter((event) => event.type === 'merge-check').length,
        registry,
      };
    };
    const one = await outcome(await setup(), []);
    expect(one.exitCode).toBe(1);
    expect(one.statuses).toEqual({ good: 'merged', breaks: 'check-failed', builds: 'held', fine: 'merged' });
    expect(one.integrated).toEqual(['fine', 'good']);
    const breaks = one.registry.tasks.find((task) => task.id === 'breaks')!;
    expect(breaks.merge!.reason).toMatch(/^the check exited 1 with it merged \(see merge\/check-\S+\.log\)$/);
    expect(
      await readFile(path.join(one.registry.run.repoRoot, '.gadugi', 'runs', one.registry.run.id, breaks.merge!.check!.log), 'utf8'),
    ).toContain('add');
    expect(one.registry.tasks.find((task) => task.id === 'builds')!.merge!.reason).toBe(
      'its dependency breaks was not integrated (check-failed)',
    );

    const four = await outcome(await setup(), ['--check-every', '4']);
    expect(four.statuses).toEqual(one.statuses);
    expect(four.integrated).toEqual(one.integrated);
    expect(four.exitCode).toBe(1);
    // One check for the batch of four failed; bisection checked prefixes of it until the culprit.
    const checks = (await readLedger(four.registry.run.repoRoot)).flatMap((event) =>
      event.type === 'merge-check' ? [[event.taskIds, event.passed] as const] : [],
    );
    expect(checks).toEqual([
      [['breaks', 'builds', 'fine', 'good'], false],
      [['breaks', 'builds'], false],
      [['breaks'], false],
      [['fine', 'good'], true],
    ]);
  });

  it('--into fast-forwards a clean checked-out branch, and refuses a dirty one, changing nothing', async () => {
    const repo = await tempRepo(LIBRARY);
    await writeFiles(repo, { 'prompts/a.md': prompt('A', '', appends('a', 'src/a.js', 'export const a = 1;\n')) });
    expect((await runOrch(['run', 'prompts/a.md'], { cwd: repo, env: fakeAgentEnv(await agentState()) })).exitCode).toBe(0);
    await writeFile(path.join(repo, 'README.md'), '# mathlib, edited\n');
    const main = await git(repo, 'rev-parse', 'main');
    const refused = await runOrch(['merge', '--into', 'main'], { cwd: repo });
    expectOneLine(
      refused,
      /^orch: --into main: it is checked out in \S+ with uncommitted changes; commit or stash them, then run again\.$/,
    );
    expect(await git(repo, 'rev-parse', 'main')).toBe(main);
    expect(await git(repo, 'branch', '--list', 'orch/*/integration')).toBe('');

    await git(repo, 'checkout', '--', 'README.md');
    const moved = await runOrch(['merge', '--into', 'main'], { cwd: repo });
    expect(moved.exitCode).toBe(0);
    const registry = await readRunRegistry(repo);
    expect(await git(repo, 'rev-parse', 'main')).toBe(await git(repo, 'rev-parse', registry.run.merge!.branch));
    expect(await readFile(path.join(repo, 'src', 'a.js'), 'utf8')).toBe('export const a = 1;\n');
    expect(moved.stdout).toMatch(/main fast-forwarded [0-9a-f]{9} → [0-9a-f]{9}/);
    expectOneLine(
      await runOrch(['merge', '--into', 'no-such-branch'], { cwd: repo }),
      /^orch: --into "no-such-branch" is not a branch of this repository/,
    );
    // Everything is on main now: clean deletes every branch the run made, the integration branch too.
    expect((await runOrch(['clean', '--branches'], { cwd: repo })).exitCode).toBe(0);
    expect(await git(repo, 'branch', '--list', 'orch/*')).toBe('');
  });

  it('killed with kill -9 in the middle of a slow check, merge again: it finishes, nothing merged twice', async () => {
    const repo = await tempRepo(LIBRARY);
    const state = await agentState();
    const gate = path.join(state, 'check-may-finish');
    await writeFiles(repo, {
      'prompts/a.md': prompt('A', '', appends('a', 'src/a.js', 'export const a = 1;\n')),
      'prompts/b.md': prompt('B', '', appends('b', 'src/b.js', 'export const b = 2;\n')),
    });
    expect((await runOrch(['run', 'prompts/*.md'], { cwd: repo, env: fakeAgentEnv(state) })).exitCode).toBe(0);
    const slowCheck = `while [ ! -f '${gate}' ]; do sleep 0.05; done; node --test`;
    const merging = startOrch(['merge', '--check', slowCheck], { cwd: repo, env: fakeAgentEnv(state) });
    const registry = await waitFor(
      async () => {
        const current = await readRunRegistry(repo);
        return current.run.merge?.checkProcess ? current : undefined;
      },
      20_000,
      'the check to start',
    );
    merging.kill('SIGKILL');
    await merging;
    // Merged and not yet checked: on the branch, recorded as pending with its commit.
    expect(registry.tasks[0]!.merge).toMatchObject({ status: 'pending', commit: expect.any(String) });

    const again = await runOrch(['merge', '--check', 'node --test'], { cwd: repo, env: fakeAgentEnv(state) });
    expect(again.exitCode).toBe(0);
    const after = await readRunRegistry(repo);
    expect(after.tasks.map((task) => task.merge?.status)).toEqual(['merged', 'merged']);
    expect((await integrationCommits(repo, after.run.merge!.branch, after.run.baseSha)).map((commit) => commit.task)).toEqual(['a', 'b']);
    expect(after.run.merge!.checkProcess).toBeUndefined();
    await writeFile(gate, '');
  });

  it('bad input: one line, exit 2, nothing written', async () => {
    const repo = await tempRepo(LIBRARY);
    expectOneLine(await runOrch(['merge'], { cwd: repo }), /^orch: no orch runs in this repository yet/);
    await writeFiles(repo, { 'prompts/a.md': prompt('A', '', [{ exit: 1, result: 'error', message: 'no' }]) });
    const state = await agentState();
    expect((await runOrch(['run', 'prompts/a.md', '--retries', '0'], { cwd: repo, env: fakeAgentEnv(state) })).exitCode).toBe(1);
    expectOneLine(
      await runOrch(['merge'], { cwd: repo }),
      /^orch: run \S+ has no succeeded task to integrate \(1 task, none succeeded\)\.$/,
    );
    expectOneLine(await runOrch(['merge', '20990101-000000-0000'], { cwd: repo }), /^orch: no run "20990101-000000-0000"/);
    expectOneLine(
      await runOrch(['merge', '--check-every', 'often'], { cwd: repo }),
      /^orch: --check-every "often" is not a number of merges \(1 or more\)\.$/,
    );
    await writeFiles(repo, { '.gadugi/config.json': JSON.stringify({ merge: { check: ['no-such-test-runner', '--all'] } }) });
    await writeFiles(repo, { 'prompts/b.md': prompt('B', '', appends('b', 'src/b.js', 'export const b = 2;\n')) });
    expect((await runOrch(['run', 'prompts/b.md'], { cwd: repo, env: fakeAgentEnv(state) })).exitCode).toBe(0);
    expectOneLine(
      await runOrch(['merge'], { cwd: repo }),
      /^orch: the check command "no-such-test-runner" cannot be started: not found on PATH/,
    );
    expect(await git(repo, 'branch', '--list', 'orch/*/integration')).toBe('');
  });

  it('run --merge integrates as tasks succeed, later tasks start from the integration head, and the exit code covers the merges', async () => {
    const repo = await tempRepo(LIBRARY);
    const state = await agentState();
    const gate = path.join(state, 'first-is-integrated');
    await writeFiles(repo, {
      'prompts/1-first.md': prompt('First', '', appends('first', 'src/first.js', 'export const first = 1;\n')),
      // Holds the only slot until the test has seen first integrated.
      'prompts/2-gate.md': prompt('Gate', '', [{ waitFor: gate }, ...appends('gate', 'src/gate.js', 'export const gate = 2;\n')]),
      // Starts after first was integrated, from the integration head: first's work is there without a dependency.
      'prompts/3-later.md': prompt('Later', '', [
        { requireFile: 'src/first.js' },
        ...appends('later', 'src/later.js', 'export const later = 3;\n'),
      ]),
    });
    const env = fakeAgentEnv(state);
    const running = startOrch(['run', 'prompts/*.md', '--merge', '--check', 'node --test', '--max-parallel', '1'], { cwd: repo, env });
    await waitFor(
      async () =>
        (await readLedger(repo)).some((event) => event.type === 'merge-status' && event.taskId === '1-first' && event.status === 'merged'),
      30_000,
      'first to be integrated',
    );
    await writeFile(gate, '');
    const result = await running;
    expect(result.exitCode).toBe(0);
    const registry = await readRunRegistry(repo);
    const task = (id: string) => registry.tasks.find((candidate) => candidate.id === id)!;
    expect(registry.tasks.map((entry) => entry.merge?.status)).toEqual(['merged', 'merged', 'merged']);
    expect(task('3-later').startSha).toBe(task('1-first').merge!.commit);
    expect(task('3-later').commits.map((commit) => commit.subject)).toEqual(['later: src/later.js']);
    expect(String(result.stdout)).toMatch(/orch\/\S+\/integration at [0-9a-f]{9}: 3 merged/);
    expect(registry.run.merge).toMatchObject({ status: 'finished', exitCode: 0 });

    // Tasks that all succeed, one of which cannot be integrated: the run did not land, exit 1.
    const other = await tempRepo(LIBRARY);
    await writeFiles(other, {
      'prompts/a.md': prompt('A', '', [{ write: 'src/math.js', content: 'export const add = (a, b) => b + a;\n' }, { commit: 'a' }]),
      'prompts/b.md': prompt('B', '', [{ write: 'src/math.js', content: 'export const add = (x, y) => x + y;\n' }, { commit: 'b' }]),
    });
    const conflicting = await runOrch(['run', 'prompts/*.md', '--merge'], { cwd: other, env: fakeAgentEnv(await agentState()) });
    expect(conflicting.exitCode).toBe(1);
    const after = await readRunRegistry(other);
    expect(after.tasks.map((entry) => [entry.status, entry.merge?.status])).toEqual([
      ['succeeded', 'merged'],
      ['succeeded', 'conflict'],
    ]);
    expect(after.run).toMatchObject({ status: 'failed', exitCode: 1 });
  });

  it('run --merge interrupted during a check: resume continues the tasks and the queue', async () => {
    const repo = await tempRepo(LIBRARY);
    const state = await agentState();
    const gate = path.join(state, 'check-may-pass');
    await writeFiles(repo, {
      'prompts/a.md': prompt('A', '', appends('a', 'src/a.js', 'export const a = 1;\n')),
      'prompts/b.md': prompt('B', 'This depends on a.', appends('b', 'src/b.js', 'export const b = 2;\n')),
    });
    const env = fakeAgentEnv(state);
    const slowCheck = `while [ ! -f '${gate}' ]; do sleep 0.05; done; node --test`;
    const running = startOrch(['run', 'prompts/*.md', '--merge', '--check', slowCheck], { cwd: repo, env });
    await waitFor(async () => (await readRunRegistry(repo)).run.merge?.checkProcess, 30_000, 'the check to start');
    running.kill('SIGINT');
    expect((await running).exitCode).toBe(130);
    const stopped = await readRunRegistry(repo);
    expect(stopped.run.merge!.status).toBe('interrupted');
    expect(stopped.tasks[0]!.merge).toMatchObject({ status: 'pending', commit: expect.any(String) });

    await writeFile(gate, '');
    const resumed = await runOrch(['resume'], { cwd: repo, env });
    expect(resumed.exitCode).toBe(0);
    const after = await readRunRegistry(repo);
    expect(after.tasks.map((task) => [task.status, task.merge?.status])).toEqual([
      ['succeeded', 'merged'],
      ['succeeded', 'merged'],
    ]);
    expect((await integrationCommits(repo, after.run.merge!.branch, after.run.baseSha)).map((commit) => commit.task)).toEqual(['a', 'b']);
  });
});

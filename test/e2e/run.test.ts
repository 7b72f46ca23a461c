import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatDuration } from '../../src/util/duration.js';
import { agentIntervals, agentScript, agentStarts, agentState, fakeAgentEnv, roomyMachine } from '../support/agents.js';
import { git, tempRepo } from '../support/git.js';
import { runOrch } from '../support/orch.js';
import { maxConcurrency, overlaps, readLedger, readRunRegistry, runIntervals, seqOf } from '../support/run-state.js';
import { writeFiles } from '../support/tmp.js';

const write = (file: string, content: string, commit = true) => [
  { write: file, content },
  ...(commit ? [{ commit: `write ${file}` }] : []),
];

/** Ten tasks: dependency chains, two conflict pairs, a failure with dependents, agents that misbehave. */
const PROMPTS: Record<string, string> = {
  'prompts/t01-parser.md': `# Parser\n## Files to Modify\n- src/parser.txt\n${agentScript({ steps: [{ sleep: 150 }, ...write('src/parser.txt', 'parser\n')] })}`,
  'prompts/t02-uses-parser.md': `# Uses the parser\nThis depends on t01-parser.\n## Files to Modify\n- src/uses.txt\n${agentScript({ steps: [{ requireFile: 'src/parser.txt' }, ...write('src/uses.txt', 'uses\n')] })}`,
  'prompts/t03-touches-parser.md': `---\nfiles: [src/parser.txt]\n---\n# Also touches the parser file\n${agentScript({ steps: [{ sleep: 100 }, ...write('src/other.txt', 'other\n')] })}`,
  'prompts/t04-broken.md': `# Broken\n${agentScript({
    steps: [
      { write: 'src/partial.txt', content: 'half done\n' },
      { exit: 1, result: 'error', message: 'tests failed' },
    ],
  })}`,
  'prompts/t05-after-broken.md': `# After broken\nBlocked by t04-broken.\n`,
  'prompts/t06-after-after.md': `---\ndepends_on: [t05-after-broken]\n---\n# Two steps after broken\n`,
  'prompts/t07-no-commit.md': `# Leaves work uncommitted\n${agentScript({ steps: write('src/uncommitted.txt', 'left here\n', false) })}`,
  'prompts/t08-no-result.md': `# Exits without a result\n${agentScript({ steps: [{ text: 'bye' }, { exit: 0, result: 'none' }] })}`,
  'prompts/t09-shared-a.md': `# Shared A\n## Target Files\n- \`shared/config.txt\`\n${agentScript({ steps: [{ sleep: 200 }, ...write('shared/a.txt', 'a\n')] })}`,
  'prompts/t10-shared-b.md': `# Shared B\n## Files to Change\n- shared/config.txt (2 errors)\n${agentScript({ steps: [{ sleep: 200 }, ...write('shared/b.txt', 'b\n')] })}`,
};

describe('orch run with the scripted fake agent', () => {
  it('runs every task in its own worktree and branch, respecting dependencies and conflicts', async () => {
    const repo = await tempRepo({ 'README.md': '# repo\n', 'src/keep.txt': 'keep\n' });
    await writeFiles(repo, PROMPTS);
    // The user's checkout is dirty and must stay exactly as it is.
    await writeFiles(repo, { 'README.md': '# repo, edited by the user\n', 'notes.txt': 'untracked\n' });
    const statusBefore = await git(repo, 'status', '--porcelain');
    const headBefore = await git(repo, 'rev-parse', 'HEAD');
    const state = await agentState();

    const env = fakeAgentEnv(state, { ORCH_SAMPLER_FILE: await roomyMachine(state) });
    const result = await runOrch(['run', 'prompts/*.md', '--max-parallel', '4', '--retries', '0', '--no-fallback'], { cwd: repo, env });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(1);

    const registry = await readRunRegistry(repo);
    const status = Object.fromEntries(registry.tasks.map((task) => [task.id, task.status]));
    expect(status).toEqual({
      't01-parser': 'succeeded',
      't02-uses-parser': 'succeeded',
      't03-touches-parser': 'succeeded',
      't04-broken': 'failed',
      't05-after-broken': 'skipped',
      't06-after-after': 'skipped',
      't07-no-commit': 'succeeded',
      't08-no-result': 'failed',
      't09-shared-a': 'succeeded',
      't10-shared-b': 'succeeded',
    });
    const task = (id: string) => registry.tasks.find((candidate) => candidate.id === id)!;
    expect(task('t04-broken').reason).toContain('tests failed');
    expect(task('t05-after-broken').reason).toBe('dependency t04-broken failed');
    expect(task('t06-after-after').reason).toBe('dependency t05-after-broken skipped');
    expect(task('t08-no-result')).toMatchObject({ failure: 'no-result', reason: 'exited 0 without a result event' });

    // From the ledger: dependents start after their dependencies finished; conflicting tasks never overlap.
    const ledger = await readLedger(repo);
    expect(seqOf(ledger, 't02-uses-parser', 'running')).toBeGreaterThan(seqOf(ledger, 't01-parser', 'succeeded'));
    const intervals = runIntervals(ledger);
    const of = (id: string) => intervals.filter((interval) => interval.taskId === id);
    for (const [a, b] of [
      ['t01-parser', 't03-touches-parser'],
      ['t09-shared-a', 't10-shared-b'],
    ] as const) {
      for (const x of of(a)) for (const y of of(b)) expect(overlaps(x, y), `${a} and ${b} overlapped`).toBe(false);
    }
    expect(
      intervals.some((x) => intervals.some((y) => x !== y && overlaps(x, y))),
      'some tasks ran in parallel',
    ).toBe(true);
    // The limit counts agents (a task's end in the ledger comes after its work is saved).
    const agents = await agentIntervals(state);
    expect(agents.length).toBeGreaterThanOrEqual(8);
    expect(maxConcurrency(agents)).toBeLessThanOrEqual(4);
    expect(maxConcurrency(agents)).toBeGreaterThan(1);
    // Every state change is in the ledger, in order, and the run ends with its summary.
    expect(ledger.map((event) => event.seq)).toEqual(ledger.map((_, index) => index + 1));
    const finished = ledger.at(-1)!;
    expect(finished.type).toBe('run-finished');

    // Every branch holds its task's change; the dependent also holds its dependency's.
    const show = (id: string, file: string) => git(repo, 'show', `${task(id).branch}:${file}`);
    expect(await show('t01-parser', 'src/parser.txt')).toBe('parser');
    expect(await show('t02-uses-parser', 'src/uses.txt')).toBe('uses');
    expect(await show('t02-uses-parser', 'src/parser.txt')).toBe('parser');
    expect(task('t02-uses-parser').commits.map((commit) => commit.subject)).toEqual(['write src/uses.txt']);
    expect(await show('t09-shared-a', 'shared/a.txt')).toBe('a');
    // Work an agent left uncommitted is committed by orch, naming task and run.
    expect(await show('t07-no-commit', 'src/uncommitted.txt')).toBe('left here');
    expect(task('t07-no-commit').commits).toEqual([
      { sha: expect.any(String), subject: `orch: work left uncommitted by task t07-no-commit (run ${registry.run.id})` },
    ]);
    expect(await show('t04-broken', 'src/partial.txt')).toBe('half done');
    // Worktrees are where the registry says, on their branches.
    expect(await git(task('t01-parser').worktree, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe(task('t01-parser').branch);
    expect(path.relative(repo, task('t01-parser').worktree)).toBe(path.join('.gadugi', 'worktrees', registry.run.id, 't01-parser'));

    // Results read from the stream are recorded.
    expect(task('t01-parser')).toMatchObject({
      turns: 3,
      sessionId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      costUsd: expect.any(Number),
    });
    const starts = await agentStarts(state);
    expect(starts.map((start) => start.taskId).sort()).toEqual([
      't01-parser',
      't02-uses-parser',
      't03-touches-parser',
      't04-broken',
      't07-no-commit',
      't08-no-result',
      't09-shared-a',
      't10-shared-b',
    ]);
    const firstStart = starts.find((start) => start.taskId === 't01-parser')!;
    expect(firstStart.args.slice(0, 6)).toEqual(['-p', '--output-format', 'stream-json', '--verbose', '--permission-mode', 'acceptEdits']);
    expect(firstStart.args).toContain('Bash(git:*)');
    const prompt = await readFile(path.join(repo, '.gadugi', 'runs', registry.run.id, 'prompts', 't01-parser.md'), 'utf8');
    expect(prompt).toContain(`Branch: \`${task('t01-parser').branch}\``);
    expect(prompt).toContain('# Parser');

    // The user's checkout: same HEAD, same dirty status, .gadugi invisible to git.
    expect(await git(repo, 'rev-parse', 'HEAD')).toBe(headBefore);
    expect(await git(repo, 'status', '--porcelain')).toBe(statusBefore);
    expect(await readFile(path.join(repo, 'README.md'), 'utf8')).toBe('# repo, edited by the user\n');

    // The summary reports the totals measured in the registry: the orchestrator's time, the agents' time, their ratio.
    const span = (from: string, to: string | undefined): number => Date.parse(to!) - Date.parse(from);
    const wallMs = registry.run.sessions.reduce((total, session) => total + span(session.startedAt, session.finishedAt), 0);
    const taskTimeMs = registry.tasks
      .flatMap((entry) => entry.attemptLog)
      .reduce((total, attempt) => total + span(attempt.startedAt, attempt.finishedAt), 0);
    expect(result.stdout).toContain(
      `wall time ${formatDuration(wallMs)} · task time ${formatDuration(taskTimeMs)} · ${(taskTimeMs / wallMs).toFixed(2)} agents at once on average (task time ÷ wall time)`,
    );
    expect(result.stdout).toContain('t04-broken: tests failed');
  });

  it('exits 0 when every task succeeds, and prints NDJSON with --json', async () => {
    const repo = await tempRepo();
    await writeFiles(repo, { 'prompts/a.md': '# A\n', 'prompts/b.md': '# B\nAfter a.\n' });
    const state = await agentState();
    const result = await runOrch(['run', '--json', 'prompts/a.md', 'prompts/b.md'], { cwd: repo, env: fakeAgentEnv(state) });
    expect(result.exitCode).toBe(0);
    const events = result.stdout
      .trim()
      .split('\n')
      .map(
        (line) =>
          JSON.parse(line) as {
            type: string;
            seq: number;
            summary?: { counts: Record<string, number>; averageConcurrency: number; wallMs: number; taskTimeMs: number; costUsd: number };
          },
      );
    expect(events[0]!.type).toBe('run-started');
    const last = events.at(-1)!;
    expect(last.type).toBe('run-finished');
    expect(last.summary!.counts.succeeded).toBe(2);
    // Every figure is the registry's own measurement: nothing estimated.
    const registry = await readRunRegistry(repo);
    const [session] = registry.run.sessions;
    expect(registry.run.sessions).toHaveLength(1);
    expect(last.summary!.wallMs).toBe(Date.parse(session!.finishedAt!) - Date.parse(session!.startedAt));
    const attempts = registry.tasks.flatMap((task) => task.attemptLog);
    expect(last.summary!.taskTimeMs).toBe(
      attempts.reduce((total, attempt) => total + Date.parse(attempt.finishedAt!) - Date.parse(attempt.startedAt), 0),
    );
    expect(last.summary!.averageConcurrency).toBeCloseTo(last.summary!.taskTimeMs / last.summary!.wallMs, 10);
    // b waits for a: one agent at a time, so the agents' time fits inside the orchestrator's.
    expect(last.summary!.taskTimeMs).toBeLessThanOrEqual(last.summary!.wallMs);
    expect(last.summary!.averageConcurrency).toBeLessThanOrEqual(1);
    expect(last.summary!.costUsd).toBeCloseTo(
      registry.tasks.reduce((total, task) => total + task.costUsd!, 0),
      10,
    );
    expect(
      events
        .filter((event) => event.type === 'task-status')
        .map((event) => (event as unknown as { taskId: string; status: string }).status),
    ).toEqual(['running', 'succeeded', 'running', 'succeeded']);
    expect(events).toEqual(await readLedger(repo));

    // status, for people: the run, its liveness, the counts, a row per task.
    const status = await runOrch(['status'], { cwd: repo });
    expect(status.exitCode).toBe(0);
    const lines = status.stdout.split('\n');
    expect(lines[0]).toMatch(new RegExp(`^run ${registry.run.id} · succeeded · orchestrator pid \\d+ \\(gone\\) · heartbeat .* ago$`));
    expect(lines[1]).toMatch(/^base HEAD \([0-9a-f]{9}\) · started \d\d:\d\d:\d\d · limit \d+ \(\w+\)$/);
    expect(lines[2]).toBe('2 succeeded');
    expect(lines[3]).toMatch(/^sandbox: o(n \(bubblewrap\)|ff)/);
    expect(lines[5]).toMatch(/^task\s+status\s+elapsed\s+pid\s+heartbeat\s+branch\s+turns\s+cost\s+activity \/ reason$/);
    expect(lines[6]).toMatch(new RegExp(`^a\\s+succeeded\\s+\\S+\\s+—\\s+—\\s+orch/${registry.run.id}/a\\s+\\d+\\s+\\$0\\.\\d{4}`));
    const all = await runOrch(['status', '--all'], { cwd: repo });
    expect(all.stdout.split('\n')[1]).toMatch(new RegExp(`^${registry.run.id}\\s+succeeded\\s+\\d\\d:\\d\\d:\\d\\d\\s+2 succeeded$`));
  });
});

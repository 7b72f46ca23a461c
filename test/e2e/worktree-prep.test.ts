import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentScript, agentStarts, agentState, fakeAgentEnv, finishes, roomyMachine } from '../support/agents.js';
import { git, tempRepo } from '../support/git.js';
import { runOrch } from '../support/orch.js';
import { overlaps, readLedger, readRunRegistry, runIntervals } from '../support/run-state.js';
import { tempDir, writeFiles } from '../support/tmp.js';
import { startOrch, waitFor } from '../support/spawn.js';

const config = (settings: object) => JSON.stringify(settings);

describe('worktrees that are ready to work in', () => {
  it('copies untracked files named by .worktreeinclude into every worktree, keeping modes, onto no branch', async () => {
    const repo = await tempRepo({
      '.gitignore': '.env\nlocal/\n',
      '.worktreeinclude': '.env\nlocal/run.sh\n\\*.txt\n',
      'README.md': '# r\n',
    });
    // The user's untracked local files (ignored ones, and one that is not even ignored, whose
    // name is a glob); local/other.txt is not named, so it stays home.
    await writeFiles(repo, {
      '.env': 'SECRET=1\n',
      'local/run.sh': '#!/bin/sh\necho hi\n',
      'local/other.txt': 'x\n',
      '*.txt': 'a file really named *.txt\n',
    });
    const { chmod } = await import('node:fs/promises');
    await chmod(path.join(repo, 'local/run.sh'), 0o755);
    // One agent leaves its work uncommitted: orch's own commit must not pick up the copies.
    await writeFiles(repo, {
      'prompts/a.md': `# A\n${agentScript({ steps: [{ requireFile: '.env' }, { write: 'a.txt', content: 'a\n' }] })}`,
      'prompts/b.md': `# B\n${agentScript({ steps: [{ requireFile: 'local/run.sh' }, ...finishes('b.txt')] })}`,
      '.gadugi/config.json': config({ worktree: { include: ['local/run.sh'] } }),
    });
    const state = await agentState();
    const result = await runOrch(['run', 'prompts/*.md'], { cwd: repo, env: fakeAgentEnv(state) });
    expect(result.exitCode).toBe(0);
    const registry = await readRunRegistry(repo);
    for (const task of registry.tasks) {
      expect(task.copiedFiles).toEqual(['*.txt', '.env', 'local/run.sh']);
      expect(await readFile(path.join(task.worktree, '.env'), 'utf8')).toBe('SECRET=1\n');
      expect((await stat(path.join(task.worktree, 'local/run.sh'))).mode & 0o777).toBe(0o755);
      await expect(stat(path.join(task.worktree, 'local/other.txt'))).rejects.toThrow();
      // Ignored copies are on no branch whoever commits.
      expect(await git(repo, 'ls-tree', '-r', '--name-only', task.branch)).not.toMatch(/\.env|run\.sh/);
    }
    // Task a left its work uncommitted: orch's own commit holds a.txt and none of the copies,
    // not even the one git does not ignore. That one is named `*.txt`: unstaged as a literal
    // path, it must not take the agent's a.txt with it.
    const a = registry.tasks.find((task) => task.id === 'a')!;
    expect((await git(repo, 'show', '--name-only', '--format=', a.branch)).split('\n')).toEqual(['a.txt']);
    expect(await git(repo, 'show', `${registry.tasks[0]!.branch}:a.txt`)).toBe('a');
    // The prompt tells the agent what was copied.
    expect(await readFile(path.join(repo, '.gadugi', 'runs', registry.run.id, 'prompts', 'a.md'), 'utf8')).toContain(
      'copied these untracked files from the main checkout (do not commit them): `*.txt`, `.env`, `local/run.sh`',
    );
    // clean does not mistake the copies for unsaved work.
    expect((await runOrch(['clean', '--json'], { cwd: repo })).stdout).not.toContain('"kept"');
  });

  it('runs setup commands once per worktree, before the agent, with the ORCH_ variables', async () => {
    const repo = await tempRepo({ '.gitignore': '.setup-marker\n', 'README.md': '# r\n' });
    await writeFiles(repo, {
      '.gadugi/config.json': config({
        worktree: { setup: ['echo "setup for $ORCH_TASK_ID on $ORCH_BRANCH" >> .setup-marker', 'echo second step'] },
        retries: { backoff: '100ms' },
      }),
      // Fails its first attempt: the retry reuses the worktree, and setup does not run again.
      'prompts/a.md': `# A\n${agentScript({
        runs: [
          [{ requireFile: '.setup-marker' }, { exit: 1, result: 'error', message: 'first try' }],
          [{ requireFile: '.setup-marker' }, ...finishes('a.txt')],
        ],
      })}`,
      'prompts/b.md': `# B\n${agentScript({ steps: [{ requireFile: '.setup-marker' }, ...finishes('b.txt')] })}`,
    });
    const state = await agentState();
    const result = await runOrch(['run', 'prompts/*.md', '--retries', '1'], { cwd: repo, env: fakeAgentEnv(state) });
    expect(result.exitCode).toBe(0);
    const registry = await readRunRegistry(repo);
    for (const task of registry.tasks) {
      expect(await readFile(path.join(task.worktree, '.setup-marker'), 'utf8')).toBe(`setup for ${task.id} on ${task.branch}\n`);
      expect(task.setupMs).toEqual(expect.any(Number));
      const log = await readFile(path.join(repo, '.gadugi', 'runs', registry.run.id, 'logs', `${task.id}.setup.log`), 'utf8');
      expect(log).toBe(`$ echo "setup for $ORCH_TASK_ID on $ORCH_BRANCH" >> .setup-marker\n$ echo second step\nsecond step\n`);
    }
    expect(registry.tasks[0]!.attempts).toBe(2);
    // orch logs shows the setup output before the agent's transcript.
    const logs = await runOrch(['logs', 'b'], { cwd: repo });
    expect(logs.stdout).toMatch(/^── setup \(logs\/b\.setup\.log\)\n\$ echo .*\n\$ echo second step\nsecond step\n── attempt 1 \(fresh\)/);
  });

  it('a failing setup command fails only its task, with reason setup, and its agent never starts', async () => {
    const repo = await tempRepo();
    await writeFiles(repo, {
      '.gadugi/config.json': config({ worktree: { setup: ['test "$ORCH_TASK_ID" != broken || { echo "cannot set up" >&2; exit 3; }'] } }),
      'prompts/broken.md': '# Broken\n',
      'prompts/fine.md': '# Fine\n',
      'prompts/after.md': '# After\nThis depends on broken.\n',
    });
    const state = await agentState();
    const result = await runOrch(['run', 'prompts/*.md', '--retries', '2'], { cwd: repo, env: fakeAgentEnv(state) });
    expect(result.exitCode).toBe(1);
    const registry = await readRunRegistry(repo);
    const task = (id: string) => registry.tasks.find((candidate) => candidate.id === id)!;
    expect(task('broken')).toMatchObject({
      status: 'failed',
      failure: 'setup',
      attempts: 1,
      reason: expect.stringMatching(/^setup command `test .*` exited 3 \(see logs\/broken\.setup\.log\)$/),
    });
    expect(task('fine').status).toBe('succeeded');
    expect(task('after').status).toBe('skipped');
    expect((await agentStarts(state)).map((start) => start.taskId)).toEqual(['fine']);
    expect(await readFile(path.join(repo, '.gadugi', 'runs', registry.run.id, 'logs', 'broken.setup.log'), 'utf8')).toContain(
      'cannot set up',
    );
  });

  it('gives each running task its own block of free ports, released when it ends', async () => {
    const repo = await tempRepo();
    const state = await agentState();
    const gate = path.join(state, 'all-started');
    const files: Record<string, string> = { '.gadugi/config.json': config({ worktree: { ports: 2 } }) };
    for (let i = 1; i <= 4; i++)
      files[`prompts/t${i}.md`] = `# t${i}\n${agentScript({ steps: [{ waitFor: gate }, ...finishes(`t${i}.txt`)] })}`;
    await writeFiles(repo, files);
    const tmp = await tempDir('orch-tmp-');
    const env = fakeAgentEnv(state, { ORCH_SAMPLER_FILE: await roomyMachine(state), TMPDIR: tmp });
    const orch = startOrch(['run', 'prompts/*.md', '--max-parallel', '4'], { cwd: repo, env });
    // All four hold their ports at the same time.
    await waitFor(async () => (await agentStarts(state)).length === 4, 20_000, 'four agents to start');
    await writeFile(gate, '');
    expect((await orch).exitCode).toBe(0);

    const registry = await readRunRegistry(repo);
    const starts = await agentStarts(state);
    for (const task of registry.tasks) {
      expect(task.ports).toHaveLength(2);
      expect(task.ports![1]).toBe(task.ports![0]! + 1);
      const start = starts.find((candidate) => candidate.taskId === task.id)!;
      expect(start.env.ORCH_PORT).toBe(String(task.ports![0]));
      expect(start.env.ORCH_PORTS).toBe(task.ports!.join(','));
    }
    const intervals = runIntervals(await readLedger(repo));
    const portsOf = (id: string) => registry.tasks.find((task) => task.id === id)!.ports!;
    let concurrentPairs = 0;
    for (const a of intervals) {
      for (const b of intervals) {
        if (a === b || !overlaps(a, b)) continue;
        concurrentPairs += 1;
        expect(portsOf(a.taskId).filter((port) => portsOf(b.taskId).includes(port))).toEqual([]);
      }
    }
    expect(concurrentPairs).toBe(4 * 3);
    // Reservations are released with their tasks.
    expect(await readdir(path.join(tmp, 'orch-ports'))).toEqual([]);
  });
});

import { existsSync } from 'node:fs';
import { chmod, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Registry } from '../../src/state/registry.js';
import { agentScript, agentStarts, agentState, fakeAgentEnv, finishes, processesWithCommandLine, roomyMachine } from '../support/agents.js';
import { git, tempRepo, listedWorktrees } from '../support/git.js';
import { runOrch } from '../support/orch.js';
import { readLedger, readRunRegistry } from '../support/run-state.js';
import { startOrch, waitFor } from '../support/spawn.js';
import { writeFiles } from '../support/tmp.js';

/** Three tasks whose agents each wait at their own gate file, then commit their output. */
async function gatedRun(state: string): Promise<{ repo: string; gates: Record<'a' | 'b' | 'c', string> }> {
  const files: Record<string, string> = { 'README.md': '# r\n' };
  for (let i = 0; i < 50; i++) files[`src/f${i}.txt`] = `${i}\n`;
  const repo = await tempRepo(files);
  const gates = { a: path.join(state, 'gate-a'), b: path.join(state, 'gate-b'), c: path.join(state, 'gate-c') };
  const prompts: Record<string, string> = {};
  for (const [id, gate] of Object.entries(gates))
    prompts[`prompts/${id}.md`] = `# Task ${id}\n${agentScript({ steps: [{ waitFor: gate }, ...finishes(`${id}.txt`)] })}`;
  await writeFiles(repo, prompts);
  return { repo, gates };
}

/** Every task done, each on its own branch and worktree, holding exactly its own output; git consistent. */
async function expectEveryTaskDone(repo: string, registry: Registry): Promise<void> {
  expect(registry.tasks.map((task) => task.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
  const listed = await listedWorktrees(repo);
  expect(listed.filter((entry) => entry.locked)).toEqual([]);
  for (const task of registry.tasks) {
    // One worktree per task, on its branch: no worktree used by two tasks.
    expect(listed.filter((entry) => entry.path === task.worktree)).toEqual([expect.objectContaining({ branch: task.branch })]);
    expect(listed.filter((entry) => entry.branch === task.branch)).toHaveLength(1);
    expect(await git(task.worktree, 'status', '--porcelain', '--untracked-files=all')).toBe('');
    // Its own commit, on top of the base: the branch was made at the base and never undone.
    expect(await git(repo, 'rev-list', '--count', `${registry.run.baseSha}..${task.branch}`)).toBe('1');
    expect(await git(repo, 'merge-base', '--is-ancestor', registry.run.baseSha, task.branch)).toBe('');
    expect(await git(repo, 'show', `${task.branch}:${task.id}.txt`)).toBe(`${task.id}.txt`);
    expect(await git(repo, 'show', `${task.branch}:src/f7.txt`)).toBe('7');
  }
  // The refs guard never took a branch made ahead of time for an agent's doing.
  expect((await readLedger(repo)).filter((event) => event.type === 'refs-restored')).toEqual([]);
  expect(await git(repo, 'fsck', '--full', '--strict', '--no-dangling')).toBe('');
}

describe('worktrees made ahead of time', () => {
  it('while the only slot works, the next task’s worktree is made on its branch at the base; the run then finishes with every branch right', async () => {
    const state = await agentState();
    const { repo, gates } = await gatedRun(state);
    // Without reflogs the refs guard cannot see that b's branch was made in b's own checkout: only
    // orch's word keeps a's check from putting back the branch made ahead of time while a ran.
    await git(repo, 'config', 'core.logAllRefUpdates', 'false');
    const env = fakeAgentEnv(state, { ORCH_SAMPLER_FILE: await roomyMachine(state) });
    const orch = startOrch(['run', 'prompts/*.md', '--max-parallel', '1'], { cwd: repo, env });

    await waitFor(async () => (await agentStarts(state)).length === 1, 20_000, 'the first agent to start');
    const registry = await readRunRegistry(repo);
    const [a, b, c] = registry.tasks;
    expect((await agentStarts(state)).map((start) => start.taskId)).toEqual(['a']);
    // a's agent waits at its gate: b's worktree appears meanwhile, on its own branch, at the base.
    const made = await waitFor(
      async () => (await listedWorktrees(repo)).find((entry) => entry.path === b!.worktree && !entry.locked),
      20_000,
      'the next task’s worktree',
    );
    expect(made).toEqual({ path: b!.worktree, branch: b!.branch, detached: false, head: registry.run.baseSha, locked: false });
    expect(await git(b!.worktree, 'status', '--porcelain', '--untracked-files=all')).toBe('');
    // Only as many as the limit: c is further away.
    expect((await listedWorktrees(repo)).map((entry) => entry.path)).not.toContain(c!.worktree);
    expect((await readRunRegistry(repo)).tasks.map((task) => task.status)).toEqual(['running', 'pending', 'pending']);
    expect(a!.status).toBe('running');

    await writeFile(gates.b, '');
    await writeFile(gates.c, '');
    await writeFile(gates.a, '');
    const result = await orch;
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const after = await readRunRegistry(repo);
    await expectEveryTaskDone(repo, after);
    // Each agent worked in its own worktree.
    const starts = await agentStarts(state);
    expect(starts.map((start) => [start.taskId, start.cwd])).toEqual(after.tasks.map((task) => [task.id, task.worktree]));
  });

  it('kill -9 while a worktree is being made ahead of time, then resume: every task done, no worktree used by two tasks', async () => {
    const state = await agentState();
    const { repo, gates } = await gatedRun(state);
    // post-checkout runs in the new worktree once it is checked out (in this small repository by
    // the `git worktree add` that registers it, see smallRepository): the one of b (made ahead of
    // time, the first time) stays under way until the test lets it finish.
    const making = path.join(state, 'making-b');
    const hookGate = path.join(state, 'hook-may-finish');
    const hook = path.join(repo, '.git', 'hooks', 'post-checkout');
    await writeFile(
      hook,
      `#!/bin/sh\ncase "$PWD" in */b) if [ ! -e '${making}' ]; then : > '${making}'; while [ ! -e '${hookGate}' ]; do sleep 0.05; done; fi;; esac\nexit 0\n`,
    );
    await chmod(hook, 0o755);
    const env = fakeAgentEnv(state, { ORCH_SAMPLER_FILE: await roomyMachine(state) });
    const orch = startOrch(['run', 'prompts/*.md', '--max-parallel', '1'], { cwd: repo, env });

    await waitFor(async () => (await agentStarts(state)).length === 1, 20_000, 'the first agent to start');
    await waitFor(async () => (await agentStarts(state)).length === 1 && (await readRunRegistry(repo)).tasks[0]!.agent, 20_000, 'a’s pid');
    await waitFor(() => existsSync(making), 20_000, 'b’s worktree to be under way');
    const b = (await readRunRegistry(repo)).tasks[1]!;
    // b is registered on its branch and checked out, still locked by orch until its `git worktree
    // add` has finished (resume checks such a worktree out again); its hook is what is under way.
    expect((await listedWorktrees(repo)).find((entry) => entry.path === b.worktree)).toMatchObject({ branch: b.branch, locked: true });
    const hooking = `${hook} ${'0'.repeat(40)} `;
    expect(await processesWithCommandLine(hooking)).toHaveLength(1);
    orch.kill('SIGKILL');
    await orch;

    // The hook that orch started finishes on its own (only orch was killed); then every agent may finish.
    await writeFile(hookGate, '');
    await waitFor(async () => (await processesWithCommandLine(hooking)).length === 0, 20_000, 'the orphaned post-checkout hook to end');
    for (const gate of Object.values(gates)) await writeFile(gate, '');

    const resumed = await runOrch(['resume'], { cwd: repo, env });
    expect(resumed.stderr).toBe('');
    expect(resumed.exitCode).toBe(0);
    const after = await readRunRegistry(repo);
    await expectEveryTaskDone(repo, after);
    // b's agent started once, in b's worktree; none started in another task's.
    const starts = await agentStarts(state);
    expect(starts.map((start) => start.taskId).sort()).toEqual(['a', 'b', 'c']);
    for (const start of starts) expect(start.cwd).toBe(after.tasks.find((task) => task.id === start.taskId)!.worktree);
  });

  it('takes a worktree from the warm pool ahead of time: at the new base, nothing left of the task before, recorded as from the pool', async () => {
    const state = await agentState();
    const repo = await tempRepo({ 'README.md': '# r\n', 'old.txt': 'old\n' });
    const env = fakeAgentEnv(state, { ORCH_SAMPLER_FILE: await roomyMachine(state) });
    await writeFiles(repo, {
      'first/p.md': `# P\n${agentScript({ steps: finishes('p.txt') })}`,
      'first/q.md': `# Q\n${agentScript({ steps: finishes('q.txt') })}`,
    });
    expect((await runOrch(['run', 'first/*.md'], { cwd: repo, env })).exitCode).toBe(0);
    const clean = await runOrch(['clean', '--json'], { cwd: repo, env });
    expect(clean.exitCode).toBe(0);
    const inPool = async (): Promise<string[]> =>
      (await listedWorktrees(repo)).map((entry) => entry.path).filter((where) => path.basename(path.dirname(where)) === '.pool');
    expect(await inPool()).toHaveLength(2);
    // The base moves on: the pooled worktrees are at the old one.
    await git(repo, 'rm', '-q', 'old.txt');
    await writeFiles(repo, { 'new.txt': 'new\n' });
    await git(repo, 'add', 'new.txt');
    await git(repo, 'commit', '-q', '-m', 'new base');
    const base = await git(repo, 'rev-parse', 'HEAD');

    const gates = { a: path.join(state, 'gate-a'), b: path.join(state, 'gate-b') };
    await writeFiles(repo, {
      'second/a.md': `# A\n${agentScript({ steps: [{ waitFor: gates.a }, ...finishes('a.txt')] })}`,
      'second/b.md': `# B\n${agentScript({ steps: [{ waitFor: gates.b }, ...finishes('b.txt')] })}`,
    });
    const orch = startOrch(['run', 'second/*.md', '--max-parallel', '1'], { cwd: repo, env });
    await waitFor(async () => (await agentStarts(state)).some((start) => start.taskId === 'a'), 20_000, 'a’s agent to start');
    const run = (await readLatestRun(repo))!;
    const b = run.tasks.find((task) => task.id === 'b')!;
    // While a works, b has the pool's last worktree, switched to its branch at the new base.
    await waitFor(async () => (await inPool()).length === 0, 20_000, 'b to take the pool’s last worktree');
    await waitFor(
      async () => (await listedWorktrees(repo)).find((entry) => entry.path === b.worktree)?.branch === b.branch,
      20_000,
      'b’s branch',
    ).catch(async (error: unknown) => {
      // What went wrong making it ahead of time is in the ledger: say it with the timeout.
      const failures = (await readLedger(repo, run.run.id)).filter((event) => event.type === 'ahead-failed');
      throw new Error(`${String(error)}; made ahead of time: ${JSON.stringify(failures)}`);
    });
    expect(await git(b.worktree, 'rev-parse', 'HEAD')).toBe(base);
    expect(await git(b.worktree, 'status', '--porcelain', '--untracked-files=all')).toBe('');
    expect(await git(b.worktree, 'ls-files')).toBe('README.md\nnew.txt');

    await writeFile(gates.a, '');
    await writeFile(gates.b, '');
    const result = await orch;
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const after = (await readLatestRun(repo))!;
    expect(after.tasks.map((task) => [task.id, task.status, task.worktreeFromPool])).toEqual([
      ['a', 'succeeded', true],
      ['b', 'succeeded', true],
    ]);
    for (const task of after.tasks) {
      expect(await git(repo, 'rev-list', '--count', `${base}..${task.branch}`)).toBe('1');
      expect(await git(repo, 'ls-tree', '-r', '--name-only', task.branch)).toBe(`README.md\n${task.id}.txt\nnew.txt`);
    }
    expect(await git(repo, 'fsck', '--full', '--strict', '--no-dangling')).toBe('');
  });

  it('a worktree that cannot be made ahead of time is said in the ledger, and its task’s own start makes it', async () => {
    const state = await agentState();
    const repo = await tempRepo({ 'README.md': '# r\n' });
    const env = fakeAgentEnv(state, { ORCH_SAMPLER_FILE: await roomyMachine(state) });
    await writeFiles(repo, { 'first/p.md': `# P\n${agentScript({ steps: finishes('p.txt') })}` });
    expect((await runOrch(['run', 'first/p.md'], { cwd: repo, env })).exitCode).toBe(0);
    expect((await runOrch(['clean'], { cwd: repo, env })).exitCode).toBe(0);
    // Checking out b's worktree fails until the test lets it pass (git gives the post-checkout
    // hook's status as its own): the worktree made ahead of time, while a works, fails.
    const mayPass = path.join(state, 'hook-may-pass');
    const hook = path.join(repo, '.git', 'hooks', 'post-checkout');
    await writeFile(
      hook,
      `#!/bin/sh\nif [ "$(basename "$PWD")" = b ] && [ ! -e '${mayPass}' ]; then echo 'the hook refuses this checkout' >&2; exit 1; fi\n`,
    );
    await chmod(hook, 0o755);

    const gate = path.join(state, 'gate-a');
    await writeFiles(repo, {
      'second/a.md': `# A\n${agentScript({ steps: [{ waitFor: gate }, ...finishes('a.txt')] })}`,
      'second/b.md': `# B\n${agentScript({ steps: finishes('b.txt') })}`,
    });
    const orch = startOrch(['run', 'second/*.md', '--max-parallel', '1'], { cwd: repo, env });
    await waitFor(async () => (await agentStarts(state)).some((start) => start.taskId === 'a'), 20_000, 'a’s agent to start');
    const runId = (await readLatestRun(repo))!.run.id;
    const aheadFailures = async () => (await readLedger(repo, runId)).filter((event) => event.type === 'ahead-failed');
    await waitFor(async () => (await aheadFailures()).length > 0, 20_000, 'the failure made ahead of time to reach the ledger');
    expect(await aheadFailures()).toEqual([
      expect.objectContaining({
        taskId: 'b',
        message: expect.stringMatching(/^the post-checkout hook failed in \S+\/b: the hook refuses this checkout$/),
      }),
    ]);

    await writeFile(mayPass, '');
    await writeFile(gate, '');
    const result = await orch;
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('b: its worktree was not made ahead of time (the post-checkout hook failed in ');
    const after = (await readLatestRun(repo))!;
    expect(after.tasks.map((task) => [task.id, task.status, task.attempts])).toEqual([
      ['a', 'succeeded', 1],
      ['b', 'succeeded', 1],
    ]);
    const b = after.tasks.find((task) => task.id === 'b')!;
    expect(await git(repo, 'ls-tree', '-r', '--name-only', b.branch)).toBe('README.md\nb.txt');
    expect(await git(b.worktree, 'status', '--porcelain', '--untracked-files=all')).toBe('');
    // Said once: not tried again ahead of time, and not made the task's failure.
    expect(await aheadFailures()).toHaveLength(1);
    expect(await git(repo, 'fsck', '--full', '--strict', '--no-dangling')).toBe('');
  });
});

/** The newest run's registry (run ids sort by the time they started). */
async function readLatestRun(repo: string): Promise<Registry | undefined> {
  const ids = (await readdir(path.join(repo, '.gadugi', 'runs'))).filter((name) => !name.startsWith('.')).sort();
  return ids.length > 0 ? readRunRegistry(repo, ids.at(-1)) : undefined;
}

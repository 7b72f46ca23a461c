import { existsSync } from 'node:fs';
import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentScript, agentState, fakeAgentEnv, finishes, killStrays, roomyMachine } from '../support/agents.js';
import { git, listedWorktrees, tempRepo } from '../support/git.js';
import { installRendezvousHook } from '../support/hooks.js';
import { CHECKOUT_AT_ONCE_MAX_ENTRIES } from '../../src/worktree/git.js';
import { runOrch } from '../support/orch.js';
import { readRunRegistry } from '../support/run-state.js';
import { startOrch, waitFor } from '../support/spawn.js';
import { writeFiles } from '../support/tmp.js';

describe('many tasks started at once', () => {
  it('make their worktrees side by side and leave git consistent: every worktree listed on its branch, fsck clean', async () => {
    const files: Record<string, string> = { 'README.md': '# r\n' };
    for (let i = 0; i < 300; i++) files[`src/m${i % 12}/f${i}.txt`] = `${i}\n`;
    const repo = await tempRepo(files);
    const count = 12;
    const prompts: Record<string, string> = {};
    for (let i = 1; i <= count; i++)
      prompts[`prompts/t${i}.md`] =
        `# Task ${i}\n${agentScript({ steps: [{ write: `out-${i}.txt`, content: `${i}\n` }, { commit: `task ${i}` }] })}`;
    await writeFiles(repo, prompts);
    const state = await agentState();
    const env = fakeAgentEnv(state, {
      ORCH_SAMPLER_FILE: await roomyMachine(state, { cores: 16, availableMemMb: 64_000, loadPerCore: 0 }),
    });
    const result = await runOrch(['run', 'prompts/*.md', '--max-parallel', String(count)], { cwd: repo, env });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);

    const registry = await readRunRegistry(repo);
    expect(registry.tasks.map((task) => task.status)).toEqual(Array<string>(count).fill('succeeded'));
    const listed = await git(repo, 'worktree', 'list', '--porcelain');
    expect(listed).not.toMatch(/prunable|locked/);
    for (const task of registry.tasks) {
      expect(listed).toContain(`worktree ${task.worktree}\n`);
      expect(listed).toContain(`branch refs/heads/${task.branch}\n`);
      // Checked out in full, with only the task's own commit on top of the base.
      expect(await git(task.worktree, 'status', '--porcelain', '--untracked-files=all')).toBe('');
      expect(await git(task.worktree, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe(task.branch);
      expect(await git(repo, 'rev-list', '--count', `${registry.run.baseSha}..${task.branch}`)).toBe('1');
      const n = task.id.slice(1);
      expect(await git(repo, 'show', `${task.branch}:out-${n}.txt`)).toBe(n);
      expect(await git(repo, 'show', `${task.branch}:src/m5/f5.txt`)).toBe('5');
      expect(path.dirname(task.worktree)).toContain(registry.run.id);
    }
    expect(await git(repo, 'fsck', '--full', '--strict', '--no-dangling')).toBe('');
  });
});

/**
 * A one-task run killed in the middle of its checkout, as a crash leaves it: a smudge filter holds
 * git's checkout at m-gate.txt (files before it written, the ones after it not, the index not
 * yet), then orch, that git and the filter are killed with -9.
 */
async function killedMidCheckout(): Promise<{ repo: string; env: NodeJS.ProcessEnv }> {
  const files: Record<string, string> = { 'README.md': '# r\n', '.gitattributes': 'm-gate.txt filter=gate\n', 'm-gate.txt': 'gated\n' };
  for (let i = 0; i < 20; i++) files[`f${String(i).padStart(2, '0')}.txt`] = `${i}\n`;
  for (let i = 0; i < 20; i++) files[`z${String(i).padStart(2, '0')}.txt`] = `${i}\n`;
  const repo = await tempRepo(files);
  const state = await agentState();
  const armed = path.join(state, 'armed');
  const arrived = path.join(state, 'arrived');
  const filter = path.join(state, 'gate-filter.sh');
  await writeFile(filter, `#!/bin/sh\nif [ -e "${armed}" ]; then : > "${arrived}"; while :; do sleep 1; done; fi\nexec cat\n`);
  await chmod(filter, 0o755);
  await git(repo, 'config', 'filter.gate.smudge', filter);
  await writeFile(armed, '');
  await writeFiles(repo, { 'prompts/a.md': `# A\n${agentScript({ steps: finishes('a.txt') })}` });
  const env = fakeAgentEnv(state);

  const orch = startOrch(['run', 'prompts/a.md'], { cwd: repo, env });
  await waitFor(() => existsSync(arrived) || undefined, 30_000, 'the checkout to reach m-gate.txt');
  orch.kill('SIGKILL');
  await orch;
  // git's own checkout and the filter it runs carry the test's environment: killed too.
  expect((await killStrays(state, 0)).length).toBeGreaterThan(0);
  await rm(armed);
  return { repo, env };
}

describe('checkouts outside the git lock', () => {
  it('two tasks check out at the same time: each post-checkout hook waits for the other to begin, which it could not under the lock', async () => {
    // More entries than a small repository's (whose checkout git worktree add does under the
    // lock, see smallRepository): this one is checked out outside it.
    const files = Object.fromEntries(
      Array.from({ length: CHECKOUT_AT_ONCE_MAX_ENTRIES + 1 }, (_, index) => [`src/f${index}.txt`, `${index}\n`]),
    );
    const repo = await tempRepo({ 'README.md': '# r\n', ...files });
    const state = await agentState();
    // Each hook says it began, then waits for the other's word. Were checkouts serialized, the
    // first would wait in vain (the second could not begin before the first ended) and fail.
    const waitedInVain = await installRendezvousHook(repo, state, { pair: ['a', 'b'], what: 'checkout' });
    await writeFiles(repo, {
      'prompts/a.md': `# A\n${agentScript({ steps: finishes('a.txt') })}`,
      'prompts/b.md': `# B\n${agentScript({ steps: finishes('b.txt') })}`,
    });
    const env = fakeAgentEnv(state, { ORCH_SAMPLER_FILE: await roomyMachine(state) });
    const result = await runOrch(['run', 'prompts/*.md', '--max-parallel', '2', '--retries', '0'], { cwd: repo, env });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const registry = await readRunRegistry(repo);
    expect(registry.tasks.map((task) => task.status)).toEqual(['succeeded', 'succeeded']);
    for (const task of registry.tasks) {
      expect(await git(task.worktree, 'status', '--porcelain', '--untracked-files=all')).toBe('');
      expect(await git(repo, 'show', `${task.branch}:${task.id}.txt`)).toBe(`${task.id}.txt`);
    }
    expect((await listedWorktrees(repo)).filter((entry) => entry.locked)).toEqual([]);
    expect(await waitedInVain()).toEqual([]);
  });

  it('a checkout killed in the middle (orch and its git killed with -9) is done again on resume', async () => {
    const { repo, env } = await killedMidCheckout();
    const task = (await readRunRegistry(repo)).tasks[0]!;
    const gitDir = path.join(repo, '.git', 'worktrees', 'a');
    expect((await listedWorktrees(repo)).find((entry) => entry.path === task.worktree)).toMatchObject({
      branch: task.branch,
      locked: true,
    });
    expect(await readFile(path.join(gitDir, 'locked'), 'utf8')).toBe('orch: checkout under way\n');
    expect(existsSync(path.join(gitDir, 'index'))).toBe(false);
    expect(existsSync(path.join(gitDir, 'index.lock'))).toBe(true);
    expect(existsSync(path.join(task.worktree, 'f00.txt'))).toBe(true);
    expect(existsSync(path.join(task.worktree, 'z19.txt'))).toBe(false);

    const resumed = await runOrch(['resume'], { cwd: repo, env });
    expect(resumed.stderr).toBe('');
    expect(resumed.exitCode).toBe(0);
    const after = (await readRunRegistry(repo)).tasks[0]!;
    expect(after.status).toBe('succeeded');
    expect((await listedWorktrees(repo)).filter((entry) => entry.locked)).toEqual([]);
    expect(await git(after.worktree, 'status', '--porcelain', '--untracked-files=all')).toBe('');
    expect(await readFile(path.join(after.worktree, 'm-gate.txt'), 'utf8')).toBe('gated\n');
    expect(await readFile(path.join(after.worktree, 'z19.txt'), 'utf8')).toBe('19\n');
    expect(await git(repo, 'ls-tree', '-r', '--name-only', after.branch)).toContain('a.txt');
    expect(await git(repo, 'rev-list', '--count', `${(await readRunRegistry(repo)).run.baseSha}..${after.branch}`)).toBe('1');
    expect(await git(repo, 'fsck', '--full', '--strict', '--no-dangling')).toBe('');
  });

  it('orch clean removes a worktree whose checkout never finished (no agent worked in it), without --force; its branch stays', async () => {
    const { repo } = await killedMidCheckout();
    const registry = await readRunRegistry(repo);
    const task = registry.tasks[0]!;
    const dry = await runOrch(['clean', '--run', registry.run.id, '--dry-run', '--json'], { cwd: repo });
    expect(dry.exitCode).toBe(0);
    expect(existsSync(task.worktree)).toBe(true);
    const cleaned = await runOrch(['clean', '--run', registry.run.id, '--json'], { cwd: repo });
    expect(cleaned.stderr).toBe('');
    expect(cleaned.exitCode).toBe(0);
    for (const output of [dry.stdout, cleaned.stdout]) {
      const actions = (JSON.parse(output) as { actions: Array<{ kind: string; result: string; reason?: string }> }).actions;
      expect(actions.filter((action) => action.kind === 'worktree')).toEqual([
        expect.objectContaining({ result: 'removed', reason: 'its checkout never finished (no agent worked in it)' }),
      ]);
    }
    expect(existsSync(task.worktree)).toBe(false);
    expect((await listedWorktrees(repo)).map((entry) => entry.path)).toEqual([repo]);
    expect(await git(repo, 'rev-parse', task.branch)).toBe(registry.run.baseSha);
    expect(await git(repo, 'fsck', '--full', '--strict', '--no-dangling')).toBe('');
  });
});

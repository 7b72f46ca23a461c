import { execFileSync } from 'node:child_process';
import { mkdir, readFile, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentScript, agentStarts, agentState, fakeAgentEnv, finishes, killStrays, processesWithEnv } from '../support/agents.js';
import { git, listedWorktrees, tempRepo } from '../support/git.js';
import { runOrch } from '../support/orch.js';
import { simulatedPath } from '../support/path.js';
import { readLedger, readRunRegistry } from '../support/run-state.js';
import { startOrch, startOrchWithRunningAgent, waitFor } from '../support/spawn.js';
import { tempDir, writeFiles } from '../support/tmp.js';

const commitFile = (file: string) =>
  agentScript({
    steps: [{ write: file, content: `${file}\n` }, { write: `${file}.notes`, content: 'two files\n' }, { commit: `add ${file}` }],
  });

async function snapshot(repo: string) {
  return {
    worktrees: await git(repo, 'worktree', 'list', '--porcelain'),
    branches: await git(repo, 'branch', '--list', '--format=%(refname:short) %(objectname)'),
    runs: await readdir(path.join(repo, '.gadugi', 'runs')),
  };
}

describe('orch clean', () => {
  it('removes only what is safe, recognizes squash merges and cherry-picks, and --dry-run changes nothing', async () => {
    const repo = await tempRepo();
    // Two commits, so only the squash check (not git cherry) can recognize the squash merge.
    const twoCommits = agentScript({
      steps: [
        { write: 's.txt', content: 's\n' },
        { commit: 'add s.txt' },
        { append: 's.txt', content: 'more\n' },
        { commit: 'extend s.txt' },
      ],
    });
    await writeFiles(repo, {
      'prompts/squashed.md': `# S\n${twoCommits}`,
      'prompts/picked.md': `# P\n${commitFile('p.txt')}`,
      'prompts/unmerged.md': `# U\n${commitFile('u.txt')}`,
      'prompts/dirty.md': `# D\n${commitFile('d.txt')}`,
    });
    await git(repo, 'add', 'prompts');
    await git(repo, 'commit', '-q', '-m', 'prompts');
    const state = await agentState();
    expect((await runOrch(['run', 'prompts/*.md'], { cwd: repo, env: fakeAgentEnv(state) })).exitCode).toBe(0);
    const registry = await readRunRegistry(repo);
    const task = (id: string) => registry.tasks.find((candidate) => candidate.id === id)!;
    // The user merges two branches their own way: a squash merge and a cherry-pick.
    await git(repo, 'merge', '--squash', '-q', task('squashed').branch);
    await git(repo, 'commit', '-q', '-m', 'squash-merge squashed');
    await git(repo, 'cherry-pick', task('picked').branch);
    // And leaves an experiment in one worktree.
    await writeFile(path.join(task('dirty').worktree, 'scratch.txt'), 'not saved anywhere\n');

    const before = await snapshot(repo);
    const dry = await runOrch(['clean', '--branches', '--purge', '--dry-run'], { cwd: repo });
    expect(dry.exitCode).toBe(0);
    // Clean worktrees go to the warm pool (default size 8) rather than away.
    expect(dry.stdout).toContain('would be pooled');
    expect(dry.stdout).toContain('(dry run: nothing was changed)');
    expect(await snapshot(repo)).toEqual(before);

    const result = await runOrch(['clean', '--branches', '--json'], { cwd: repo });
    expect(result.exitCode).toBe(0);
    const { actions } = JSON.parse(result.stdout) as { actions: Array<{ kind: string; target: string; result: string; reason?: string }> };
    const about = (kind: string, target: string) => actions.find((action) => action.kind === kind && action.target.endsWith(target));
    expect(about('worktree', '/squashed')).toMatchObject({
      result: 'pooled',
      reason: expect.stringMatching(/^kept for the next tasks in \.gadugi\/worktrees\/\.pool\/squashed-/),
    });
    expect(about('worktree', '/unmerged')).toMatchObject({ result: 'pooled' });
    expect(about('worktree', '/dirty')).toMatchObject({
      result: 'kept',
      reason: expect.stringContaining('1 uncommitted or untracked file (scratch.txt)'),
    });
    expect(about('branch', '/squashed')).toMatchObject({ result: 'deleted', reason: 'it was squash-merged into main' });
    expect(about('branch', '/picked')).toMatchObject({ result: 'deleted', reason: 'its changes are in main' });
    expect(about('branch', '/unmerged')).toMatchObject({
      result: 'kept',
      reason: expect.stringContaining('1 commit not on main or any other branch'),
    });
    expect(about('branch', '/dirty')).toMatchObject({ result: 'kept', reason: 'checked out in a worktree that was kept' });

    const worktrees = await git(repo, 'worktree', 'list', '--porcelain');
    expect(worktrees).toContain(task('dirty').worktree);
    expect(worktrees).not.toContain(task('squashed').worktree);
    const branches = (await git(repo, 'branch', '--list', '--format=%(refname:short)')).split('\n').sort();
    expect(branches).toEqual(['main', task('dirty').branch, task('unmerged').branch].sort());

    // --force removes the rest (the dirty worktree is removed, never pooled); --purge deletes the
    // run folder once nothing is left in it; --no-pool empties the pool.
    const forced = await runOrch(['clean', '--branches', '--force', '--purge', '--no-pool'], { cwd: repo });
    expect(forced.exitCode).toBe(0);
    expect((await git(repo, 'branch', '--list', '--format=%(refname:short)')).trim()).toBe('main');
    expect(await git(repo, 'worktree', 'list', '--porcelain')).not.toContain('.gadugi/worktrees');
    expect(await readdir(path.join(repo, '.gadugi', 'runs'))).toEqual([]);
  });

  it('refuses a live run, and stops orphaned agents of a dead orchestrator only when asked', async () => {
    const repo = await tempRepo();
    await writeFiles(repo, {
      'prompts/hang.md': `# Hang\n${agentScript({ steps: [{ write: 'wip.txt', content: 'wip\n' }, { hang: true }] })}`,
    });
    const state = await agentState();
    const { orch, registry } = await startOrchWithRunningAgent(repo, ['run', 'prompts/hang.md'], state);
    const live = await runOrch(['clean', '--run', registry.run.id], { cwd: repo });
    expect(live.exitCode).toBe(2);
    expect(live.stderr).toMatch(/clean refuses to touch a live run/);

    orch.kill('SIGKILL');
    await orch;
    // Default clean leaves an unfinished run alone; --all looks at it but keeps the agent's worktree.
    expect((await runOrch(['clean'], { cwd: repo })).stdout).toMatch(/skipped: unfinished \(its orchestrator is gone\)/);
    expect((await runOrch(['clean', '--all'], { cwd: repo })).stdout).toMatch(/kept: agent pid \d+ is still running in it/);
    expect(await processesWithEnv(`FAKE_CLAUDE_STATE=${state}`)).toHaveLength(1);

    const killed = await runOrch(['clean', '--all', '--kill-orphans'], { cwd: repo });
    expect(killed.exitCode).toBe(0);
    expect(killed.stdout).toMatch(/agent hang \(pid \d+\) stopped/);
    expect(killed.stdout).toMatch(/kept: 1 uncommitted or untracked file \(wip\.txt\)/);
    await waitFor(async () => (await processesWithEnv(`FAKE_CLAUDE_STATE=${state}`)).length === 0, 8_000, 'the agent to stop');
    expect((await readRunRegistry(repo)).tasks[0]).toMatchObject({
      status: 'interrupted',
      reason: 'agent stopped by orch clean --kill-orphans',
    });
    // A state change, so a ledger line too, numbered after the last one.
    const ledger = await readLedger(repo);
    expect(ledger.at(-1)).toMatchObject({ type: 'task-status', taskId: 'hang', status: 'interrupted', previous: 'running' });
    expect(ledger.map((event) => event.seq)).toEqual(ledger.map((_, index) => index + 1));
    expect(await agentStarts(state)).toHaveLength(1);
  });

  it('checks --target, the run to clean and each run’s base branch before it removes anything', async () => {
    const repo = await tempRepo();
    await git(repo, 'checkout', '-q', '-b', 'feature');
    await writeFiles(repo, { 'prompts/a.md': '# A\n' });
    const state = await agentState();
    expect((await runOrch(['run', 'prompts/a.md'], { cwd: repo, env: fakeAgentEnv(state) })).exitCode).toBe(0);
    const before = await snapshot(repo);

    const typo = await runOrch(['clean', '--branches', '--target', 'mian'], { cwd: repo });
    expect(typo).toMatchObject({ exitCode: 2, stdout: '' });
    expect(typo.stderr).toBe(
      'orch: --target "mian" is not a branch of this repository: pass the branch task branches are merged into (e.g. main).',
    );
    expect(await snapshot(repo)).toEqual(before);

    const unknown = await runOrch(['clean', '--run', '20260101-000000-ffff'], { cwd: repo });
    expect(unknown).toMatchObject({ exitCode: 2 });
    expect(unknown.stderr).toMatch(/^orch: no run "20260101-000000-ffff" in \S+: see `orch status --all`\.$/);

    // The run started from feature; feature is deleted since.
    await git(repo, 'checkout', '-q', 'main');
    await git(repo, 'branch', '-q', '-D', 'feature');
    const beforeGone = await snapshot(repo);
    const gone = await runOrch(['clean', '--branches'], { cwd: repo });
    expect(gone.exitCode).toBe(2);
    expect(gone.stderr).toMatch(/^orch: run \S+ started from branch "feature", which no longer exists: pass --target <branch>/);
    expect(gone.stderr.trim().split('\n')).toHaveLength(1);
    expect(await snapshot(repo)).toEqual(beforeGone);

    // Told what to compare with, it cleans.
    const cleaned = await runOrch(['clean', '--branches', '--target', 'main'], { cwd: repo });
    expect(cleaned.exitCode).toBe(0);
    const runId = (await readRunRegistry(repo)).run.id;
    expect(await git(repo, 'worktree', 'list', '--porcelain')).not.toContain(`.gadugi/worktrees/${runId}`);
  });

  it('--purge removes a run folder abandoned while it was being created, not one being created now', async () => {
    const repo = await tempRepo();
    const runs = path.join(repo, '.gadugi', 'runs');
    const abandoned = path.join(runs, '.20261121-090000-abcd.starting');
    const starting = path.join(runs, '.20261121-100000-dcba.starting');
    await writeFiles(repo, {
      '.gadugi/runs/.20261121-090000-abcd.starting/tasks/a.md': '# A\n',
      '.gadugi/runs/.20261121-100000-dcba.starting/orch.log': '',
    });
    const hourAgo = new Date(Date.now() - 3_600_000);
    await utimes(abandoned, hourAgo, hourAgo);
    await mkdir(starting, { recursive: true });

    const kept = await runOrch(['clean', '--purge', '--dry-run', '--json'], { cwd: repo });
    expect(kept.exitCode).toBe(0);
    expect(await readdir(runs)).toHaveLength(2);
    const result = await runOrch(['clean', '--purge', '--json'], { cwd: repo });
    expect(result.exitCode).toBe(0);
    expect((JSON.parse(result.stdout) as { actions: unknown[] }).actions).toContainEqual(
      expect.objectContaining({ kind: 'run-folder', target: '.gadugi/runs/.20261121-090000-abcd.starting', result: 'removed' }),
    );
    expect(await readdir(runs)).toEqual(['.20261121-100000-dcba.starting']);
    // Not a run: status does not list it.
    expect((await runOrch(['status', '--all'], { cwd: repo })).stdout).toBe('no orch runs in this repository yet');
  });

  it('kill -9 while clean removes worktrees (before git forgets them, then while their files are deleted): the next clean finishes, nothing lost', async () => {
    const repo = await tempRepo();
    const state = await agentState();
    const env = fakeAgentEnv(state);
    // `git worktree prune` and `rm` that, once armed, stop (orch waits on them) until the test kills orch.
    const gates = await tempDir('orch-gates-');
    const arrived = path.join(gates, 'arrived');
    const program = (name: string) => execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
    const [realGit, realRm] = [program('git'), program('rm')];
    const blockWhen = (armed: string, test: string) =>
      `if ${test} [ -f "${armed}" ]; then ${realRm} -f "${armed}"; : > "${arrived}"; while :; do sleep 1; done; fi`;
    const PATH = await simulatedPath({
      scripts: {
        git: `${blockWhen(path.join(gates, 'git'), '[ "$1 $2" = "worktree prune" ] &&')}\nexec ${realGit} "$@"`,
        rm: `${blockWhen(path.join(gates, 'rm'), '')}\nexec ${realRm} "$@"`,
      },
    });
    const killedInside = async (gate: 'git' | 'rm'): Promise<void> => {
      await writeFile(path.join(gates, gate), '');
      const orch = startOrch(['clean', '--no-pool'], { cwd: repo, env: { ...env, PATH } });
      await waitFor(() => readFile(arrived).then(() => true), 30_000, `orch clean to reach ${gate}`);
      orch.kill('SIGKILL');
      await orch;
      // The blocked program outlives orch: it carries the test's environment.
      expect((await killStrays(state, 0)).length).toBeGreaterThan(0);
      await rm(arrived);
    };
    const removing = path.join(repo, '.gadugi', 'worktrees', '.removing');
    const expectFinished = async (branches: string[]): Promise<void> => {
      const result = await runOrch(['clean', '--no-pool'], { cwd: repo });
      expect(result.exitCode).toBe(0);
      expect(await readdir(path.dirname(removing))).not.toContain('.removing');
      expect(await listedWorktrees(repo)).toHaveLength(1);
      // Nothing lost: every task branch holds its work, and none is checked out anywhere any more.
      for (const branch of branches)
        expect(await git(repo, 'show', `${branch}:${branch.split('/').at(-1)}.txt`)).toBe(`${branch.split('/').at(-1)}.txt`);
      await git(repo, 'fsck', '--no-progress');
    };

    await writeFiles(
      repo,
      Object.fromEntries(['a', 'b'].map((id) => [`prompts/${id}.md`, `# ${id}\n${agentScript({ steps: finishes(`${id}.txt`) })}`])),
    );
    expect((await runOrch(['run', 'prompts/a.md', 'prompts/b.md'], { cwd: repo, env })).exitCode).toBe(0);
    const first = await readRunRegistry(repo);

    // 1. Killed after the worktrees were moved aside, before git forgot them (their deletion in
    // .removing/ starts as they are moved there, while git prunes): none is left half-deleted at
    // its path, and git still lists them, as gone.
    await killedInside('git');
    for (const task of first.tasks) expect(await readdir(path.dirname(task.worktree))).not.toContain(task.id);
    expect((await readdir(removing)).length).toBeLessThanOrEqual(2);
    expect(await listedWorktrees(repo)).toHaveLength(3);
    expect((await git(repo, 'worktree', 'list', '--porcelain')).split('\n').filter((line) => line.startsWith('prunable'))).toHaveLength(2);
    await expectFinished(first.tasks.map((task) => task.branch));
    await git(repo, 'branch', '-D', first.tasks[0]!.branch);

    // 2. Killed while the moved-aside worktrees are deleted (git has forgotten them already).
    await writeFiles(
      repo,
      Object.fromEntries(['c', 'd'].map((id) => [`prompts/${id}.md`, `# ${id}\n${agentScript({ steps: finishes(`${id}.txt`) })}`])),
    );
    expect((await runOrch(['run', 'prompts/c.md', 'prompts/d.md'], { cwd: repo, env })).exitCode).toBe(0);
    const second = (await readdir(path.join(repo, '.gadugi', 'runs'))).filter((id) => id !== first.run.id && !id.startsWith('.'));
    const secondRun = await readRunRegistry(repo, second[0]);
    await killedInside('rm');
    // The worktrees are deleted by rm processes side by side, each with its share: the one stopped
    // here leaves its share (the other may have finished).
    expect((await readdir(removing)).length).toBeGreaterThanOrEqual(1);
    expect((await readdir(removing)).length).toBeLessThanOrEqual(2);
    expect(await listedWorktrees(repo)).toHaveLength(1);
    await expectFinished([first.tasks[1]!.branch, ...secondRun.tasks.map((task) => task.branch)]);
  });

  it('keeps a worktree git has locked, saying why, and removes the others', async () => {
    const repo = await tempRepo();
    const state = await agentState();
    await writeFiles(
      repo,
      Object.fromEntries(['a', 'b'].map((id) => [`prompts/${id}.md`, `# ${id}\n${agentScript({ steps: finishes(`${id}.txt`) })}`])),
    );
    expect((await runOrch(['run', 'prompts/a.md', 'prompts/b.md'], { cwd: repo, env: fakeAgentEnv(state) })).exitCode).toBe(0);
    const [a, b] = (await readRunRegistry(repo)).tasks;
    await git(repo, 'worktree', 'lock', '--reason', 'on a USB disk', a!.worktree);
    const result = await runOrch(['clean', '--no-pool', '--branches', '--force'], { cwd: repo });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(
      /worktree \S+\/a kept: git refused to remove it: cannot remove a locked working tree, lock reason: on a USB disk/,
    );
    expect(result.stdout).toMatch(/worktree \S+\/b removed/);
    expect(result.stdout).toMatch(/branch \S+\/a kept: checked out in a worktree that was kept/);
    expect((await listedWorktrees(repo)).map((entry) => entry.path)).toEqual([repo, a!.worktree]);
    expect(await readdir(a!.worktree)).toContain('a.txt');
    expect(await git(repo, 'branch', '--list', b!.branch)).toBe('');
  });
});

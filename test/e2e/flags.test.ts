import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { agentScript, agentState, fakeAgentEnv, finishes } from '../support/agents.js';
import { git, tempRepo } from '../support/git.js';
import { orchBin, runOrch } from '../support/orch.js';
import { readRunRegistry } from '../support/run-state.js';
import { tempDir, writeFiles } from '../support/tmp.js';

describe('run flags', () => {
  it('--base starts task branches from another branch; --worktree-root puts worktrees outside the repository', async () => {
    const repo = await tempRepo({ 'README.md': '# main\n' });
    await git(repo, 'checkout', '-q', '-b', 'feature');
    await writeFiles(repo, { 'feature.txt': 'only on feature\n' });
    await git(repo, 'add', '-A');
    await git(repo, 'commit', '-q', '-m', 'feature work');
    const featureSha = await git(repo, 'rev-parse', 'HEAD');
    await git(repo, 'checkout', '-q', 'main');
    await writeFiles(repo, { 'prompts/a.md': `# A\n${agentScript({ steps: [{ requireFile: 'feature.txt' }, ...finishes('a.txt')] })}` });
    const outside = await tempDir('orch-worktrees-');

    const result = await runOrch(['run', 'prompts/a.md', '--base', 'feature', '--worktree-root', outside], {
      cwd: repo,
      env: fakeAgentEnv(await agentState()),
    });
    expect(result.exitCode).toBe(0);
    const registry = await readRunRegistry(repo);
    expect(registry.run).toMatchObject({ baseRef: 'feature', baseSha: featureSha, baseBranch: 'feature', worktreeRoot: outside });
    const task = registry.tasks[0]!;
    expect(task.worktree).toBe(path.join(outside, registry.run.id, 'a'));
    expect(await git(repo, 'merge-base', '--is-ancestor', featureSha, task.branch).then(() => true)).toBe(true);
    // The user's checkout stays on main, clean.
    expect(await git(repo, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('main');
    expect(await git(repo, 'status', '--porcelain')).toBe('?? prompts/');
  });

  it('--timeout limits every task', async () => {
    const repo = await tempRepo();
    await writeFiles(repo, { 'prompts/a.md': `# A\n${agentScript({ steps: [{ hang: true }] })}` });
    const result = await runOrch(['run', 'prompts/a.md', '--timeout', '1s', '--retries', '0'], {
      cwd: repo,
      env: fakeAgentEnv(await agentState()),
    });
    expect(result.exitCode).toBe(1);
    expect((await readRunRegistry(repo)).tasks[0]).toMatchObject({ failure: 'timeout' });
  });

  it('clean --target checks merges against the branch it is given', async () => {
    const repo = await tempRepo();
    await writeFiles(repo, { 'prompts/a.md': `# A\n${agentScript({ steps: finishes('a.txt') })}` });
    expect((await runOrch(['run', 'prompts/a.md'], { cwd: repo, env: fakeAgentEnv(await agentState()) })).exitCode).toBe(0);
    const { branch } = (await readRunRegistry(repo)).tasks[0]!;
    await git(repo, 'checkout', '-q', '-b', 'release', 'main');
    // Another commit first, so the cherry-pick is a new commit (not the same one, reachable as is).
    await writeFiles(repo, { 'RELEASE.md': 'release notes\n' });
    await git(repo, 'add', 'RELEASE.md');
    await git(repo, 'commit', '-q', '-m', 'release notes');
    await git(repo, 'cherry-pick', branch);
    await git(repo, 'checkout', '-q', 'main');
    const againstMain = await runOrch(['clean', '--branches', '--dry-run', '--json'], { cwd: repo });
    expect(JSON.parse(againstMain.stdout).actions.find((action: { kind: string }) => action.kind === 'branch')).toMatchObject({
      result: 'kept',
    });
    const againstRelease = await runOrch(['clean', '--branches', '--dry-run', '--json', '--target', 'release'], { cwd: repo });
    expect(JSON.parse(againstRelease.stdout).actions.find((action: { kind: string }) => action.kind === 'branch')).toMatchObject({
      result: 'deleted',
      reason: 'its changes are in release',
    });
  });
});

describe('the terminal view', () => {
  let hasScript = true;
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
  } catch {
    hasScript = false;
  }

  it.runIf(hasScript)('shows running tasks live on a terminal, and plain lines on one that reports no width', async () => {
    const repo = await tempRepo();
    await writeFiles(repo, {
      'prompts/a.md': `# A\n${agentScript({ steps: [{ text: 'Thinking it over' }, { sleep: 1500 }, ...finishes('a.txt')] })}`,
    });
    const env = { ...process.env, ...fakeAgentEnv(await agentState()), FORCE_COLOR: '0' };
    const inTerminal = async (setup: string) =>
      String(
        (
          await execa('script', ['-qec', `${setup}"${process.execPath}" "${orchBin}" run prompts/a.md`, '/dev/null'], {
            cwd: repo,
            env,
            timeout: 60_000,
            reject: false,
            stdin: 'ignore',
          })
        ).stdout,
      );

    const live = await inTerminal('stty cols 100 rows 40; ');
    expect(live).toContain('1 running · limit');
    expect(live).toContain('Thinking it over');
    expect(live).toMatch(/✓ a succeeded \(1 commit\)/);
    // A terminal of width 0 cannot host the redrawn view: plain timestamped lines instead.
    const zeroWidth = await inTerminal('stty cols 0 rows 0; ');
    expect(zeroWidth).not.toContain('1 running · limit');
    expect(zeroWidth).toMatch(/\d\d:\d\d:\d\d ✓ a succeeded \(1 commit\)/);
    expect(zeroWidth.length).toBeLessThan(20_000);
  });
});

import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentScript, agentState, fakeAgentEnv, roomyMachine } from '../support/agents.js';
import { git, tempRepo } from '../support/git.js';
import { runOrch } from '../support/orch.js';
import { readLedger, readRunRegistry } from '../support/run-state.js';
import { startOrch, waitFor } from '../support/spawn.js';
import { tempDir, writeFiles } from '../support/tmp.js';

describe('the refs guard (scripted fake agent)', () => {
  it('puts back what an agent did outside its branch, charged to that agent, and leaves everyone else’s commits alone', async () => {
    const repo = await tempRepo();
    const initial = await git(repo, 'rev-parse', 'HEAD');
    await git(repo, 'branch', 'keep-me');
    await git(repo, 'branch', 'old-branch');
    await git(repo, 'tag', 'v1');
    await git(repo, 'update-ref', 'refs/remotes/origin/main', 'HEAD');
    const gates = await tempDir('orch-gates-');
    const gate = (name: string) => path.join(gates, name);
    await writeFiles(repo, {
      // Makes its own commit, then moves, creates and deletes refs that are not its own, and waits.
      'prompts/rogue.md': `# Rogue\n${agentScript({
        steps: [
          { write: 'rogue.txt', content: 'rogue\n' },
          { commit: 'rogue work' },
          {
            sh: `git branch -f keep-me HEAD && git branch stray && git branch -D old-branch && git tag -f v1 HEAD && git update-ref refs/remotes/origin/main HEAD && touch ${gate('moved')}`,
          },
          { waitFor: gate('go') },
        ],
      })}`,
      // Commits on its own branch while the rogue agent runs, and finishes first.
      'prompts/busy.md': `# Busy\n${agentScript({ steps: [{ waitFor: gate('moved') }, { write: 'busy.txt', content: 'busy\n' }, { commit: 'busy work' }] })}`,
      // Leaves its worktree on a branch of its own making.
      'prompts/wanderer.md': `---\ndepends_on: [busy]\n---\n# Wanderer\n${agentScript({
        steps: [{ sh: 'git checkout -q -b side && echo w > w.txt && git add w.txt && git commit -q -m wander' }],
      })}`,
    });
    // The rogue and busy agents must run at the same time, whatever the load of the machine running the tests.
    const env = fakeAgentEnv(await agentState(), { ORCH_SAMPLER_FILE: await roomyMachine(gates) });
    const orch = startOrch(['run', 'prompts/*.md'], { cwd: repo, env });
    await waitFor(
      async () => (await readRunRegistry(repo)).tasks.find((task) => task.id === 'wanderer')?.status === 'succeeded',
      30_000,
      'wanderer',
    );
    // You commit in your own checkout while the rogue agent still runs: that is yours, not put back.
    await writeFiles(repo, { 'mine.txt': 'mine\n' });
    await git(repo, 'add', 'mine.txt');
    await git(repo, 'commit', '-q', '-m', 'my own work');
    const mine = await git(repo, 'rev-parse', 'HEAD');
    await writeFile(gate('go'), '');
    const result = await orch;
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);

    const registry = await readRunRegistry(repo);
    const task = (id: string) => registry.tasks.find((candidate) => candidate.id === id)!;
    const rogueTip = task('rogue').commits[0]!.sha;
    // Everything the rogue agent touched is as it was; nothing else was touched.
    expect(await git(repo, 'rev-parse', 'keep-me', 'old-branch', 'v1', 'refs/remotes/origin/main')).toBe(
      [initial, initial, initial, initial].join('\n'),
    );
    expect(await git(repo, 'branch', '--list', 'stray', 'side')).toBe('');
    expect(await git(repo, 'rev-parse', 'main')).toBe(mine);
    expect(task('busy').commits.map((commit) => commit.subject)).toEqual(['busy work']);
    expect(await git(repo, 'rev-parse', task('busy').branch)).toBe(task('busy').commits[0]!.sha);
    expect(await git(repo, 'rev-parse', task('rogue').branch)).toBe(rogueTip);
    // The wandering agent's worktree is back on its branch, its commit kept there.
    expect(task('wanderer').commits.map((commit) => commit.subject)).toEqual(['wander']);
    expect(await git(task('wanderer').worktree, 'symbolic-ref', 'HEAD')).toBe(`refs/heads/${task('wanderer').branch}`);
    expect(await git(repo, 'show', `${task('wanderer').branch}:w.txt`)).toBe('w');

    // Busy's check found the rogue agent's changes and charged them to it; a deletion cannot be
    // told apart, so it is recorded with both suspects.
    const found = (await readLedger(repo)).filter((event) => event.type === 'refs-restored');
    expect(found).toEqual([
      expect.objectContaining({
        taskId: 'rogue',
        changes: [
          { ref: 'refs/heads/keep-me', action: 'moved', before: initial, after: rogueTip },
          { ref: 'refs/heads/stray', action: 'created', after: rogueTip },
          { ref: 'refs/remotes/origin/main', action: 'moved', before: initial, after: rogueTip },
          { ref: 'refs/tags/v1', action: 'moved', before: initial, after: rogueTip },
        ],
        problems: [],
      }),
      expect.objectContaining({
        taskId: 'busy',
        changes: [{ ref: 'refs/heads/old-branch', action: 'deleted', before: initial, suspects: ['busy', 'rogue'] }],
      }),
      expect.objectContaining({
        taskId: 'wanderer',
        changes: [
          { ref: 'HEAD', action: 'switched', before: `refs/heads/${task('wanderer').branch}`, after: 'refs/heads/side' },
          { ref: 'refs/heads/side', action: 'created', after: task('wanderer').commits[0]!.sha },
        ],
      }),
    ]);
    expect(task('rogue').attemptLog[0]!.refsRestored).toHaveLength(4);
    expect(result.stdout).toMatch(
      /! rogue's agent changed refs outside its branch \(attempt 1\): moved keep-me from \w{9} to \w{9} \(put back\); created stray/,
    );
    expect(result.stdout).toMatch(
      / {2}busy: refs put back by the guard: deleted old-branch at \w{9} \(recreated\) — made while the agents of busy, rogue ran/,
    );
    expect(result.stdout).toMatch(
      / {2}wanderer: refs put back by the guard: switched its worktree from orch\/\S+\/wanderer to side \(switched back\)/,
    );
    const status = await runOrch(['status'], { cwd: repo });
    expect(status.stdout).toMatch(/^! rogue \(attempt 1\): refs put back by the guard: moved keep-me/m);
  });

  it('with refsGuard "fail", the attempt fails with reason refs and is not retried', async () => {
    const repo = await tempRepo();
    await writeFiles(repo, {
      'prompts/tagger.md': `# Tagger\n${agentScript({ steps: [{ sh: 'git tag release-1' }] })}`,
      '.gadugi/config.json': JSON.stringify({ agent: { refsGuard: 'fail' } }),
    });
    const result = await runOrch(['run', 'prompts/tagger.md', '--retries', '2'], { cwd: repo, env: fakeAgentEnv(await agentState()) });
    expect(result.exitCode).toBe(1);
    const [task] = (await readRunRegistry(repo)).tasks;
    expect(task).toMatchObject({ status: 'failed', failure: 'refs', attempts: 1 });
    expect(task!.reason).toMatch(
      /^the agent changed refs outside its branch: created tags\/release-1 at \w{9} \(removed; `git update-ref refs\/tags\/release-1 \w{9}` brings it back\)$/,
    );
    expect(await git(repo, 'tag', '--list')).toBe('');
  });
});

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentScript, agentState, fakeAgentEnv, roomyMachine } from '../support/agents.js';
import { git, tempRepo } from '../support/git.js';
import { runOrch } from '../support/orch.js';
import { readRunRegistry } from '../support/run-state.js';
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

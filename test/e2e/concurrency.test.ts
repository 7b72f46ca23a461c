import { existsSync, watch } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentScript, agentState, fakeAgentEnv } from '../support/agents.js';
import { git, tempRepo } from '../support/git.js';
import { runOrch } from '../support/orch.js';
import { readRunRegistry, runIds } from '../support/run-state.js';
import { startOrch, waitFor } from '../support/spawn.js';
import { writeFiles } from '../support/tmp.js';

describe('two orch processes on one repository', () => {
  it('run side by side without corrupting each other, while status reads them', async () => {
    const repo = await tempRepo();
    const prompts: Record<string, string> = {};
    for (let i = 1; i <= 6; i++) {
      prompts[`one/t${i}.md`] =
        `# One ${i}\n${agentScript({ steps: [{ sleep: 200 }, { write: `one-${i}.txt`, content: `${i}\n` }, { commit: `one ${i}` }] })}`;
      prompts[`two/t${i}.md`] =
        `# Two ${i}\n${agentScript({ steps: [{ sleep: 200 }, { write: `two-${i}.txt`, content: `${i}\n` }, { commit: `two ${i}` }] })}`;
    }
    await writeFiles(repo, prompts);
    const state = await agentState();
    const env = fakeAgentEnv(state);
    const first = startOrch(['run', 'one/*.md', '--max-parallel', '3'], { cwd: repo, env });
    const second = startOrch(['run', 'two/*.md', '--max-parallel', '3'], { cwd: repo, env });
    // A watcher follows the first run to its end, reading while the runs write.
    const firstId = await waitFor(async () => (await runIds(repo))[0], 20_000, 'a run to exist');
    const watch = startOrch(['status', firstId, '--watch', '--json'], { cwd: repo });

    const [one, two, watched] = await Promise.all([first, second, watch]);
    expect(one.stderr).toBe('');
    expect(two.stderr).toBe('');
    expect([one.exitCode, two.exitCode]).toEqual([0, 0]);
    expect(watched.stderr).toBe('');
    expect(watched.exitCode).toBe(0);
    const views = String(watched.stdout)
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { run: { liveness: string } });
    expect(views.at(-1)!.run.liveness).toBe('succeeded');

    const ids = await runIds(repo);
    expect(ids).toHaveLength(2);
    for (const id of ids) {
      const registry = await readRunRegistry(repo, id);
      expect(registry.tasks.every((task) => task.status === 'succeeded')).toBe(true);
      for (const task of registry.tasks) expect(task.commits).toHaveLength(1);
    }
    expect((await git(repo, 'branch', '--list', 'orch/*')).split('\n')).toHaveLength(12);
    expect((await runOrch(['status', '--all', '--json'], { cwd: repo })).stdout).toContain('"succeeded": 6');
  });
});

describe('a run folder, as other processes see it', () => {
  it('never appears without its registry', async () => {
    const repo = await tempRepo();
    await writeFiles(repo, { 'p/a.md': `# A\n${agentScript({ steps: [{ write: 'a.txt', content: 'a\n' }, { commit: 'a' }] })}` });
    const runs = path.join(repo, '.gadugi', 'runs');
    await mkdir(runs, { recursive: true });
    // Checked the moment each entry shows up, while orch is still creating the run.
    const seen: Array<{ name: string; registry: boolean }> = [];
    const watcher = watch(runs, (_event, name) => {
      // (orch's write check leaves a dot-file for an instant.)
      if (name && !name.startsWith('.') && !seen.some((entry) => entry.name === name))
        seen.push({ name, registry: existsSync(path.join(runs, name, 'registry.json')) });
    });
    try {
      const result = await runOrch(['run', 'p/*.md'], { cwd: repo, env: fakeAgentEnv(await agentState()) });
      expect(result.exitCode).toBe(0);
    } finally {
      watcher.close();
    }
    expect(seen).toEqual([{ name: (await runIds(repo))[0], registry: true }]);
  });
});

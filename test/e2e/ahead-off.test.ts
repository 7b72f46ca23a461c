import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentScript, agentStarts, agentState, fakeAgentEnv, finishes, roomyMachine } from '../support/agents.js';
import { git, listedWorktrees, tempRepo } from '../support/git.js';
import { readRunRegistry } from '../support/run-state.js';
import { startOrch, waitFor } from '../support/spawn.js';
import { writeFiles } from '../support/tmp.js';

// The counterpart of ahead.test.ts: with `worktree.ahead: false`, a task's worktree is made when
// its task starts, never while an earlier agent works.
describe('worktree.ahead: false', () => {
  it('with one slot, no later task’s worktree exists while the first agent works; each is made once its task starts', async () => {
    const state = await agentState();
    const repo = await tempRepo({ 'README.md': '# r\n' });
    const gates = { a: path.join(state, 'gate-a'), b: path.join(state, 'gate-b'), c: path.join(state, 'gate-c') };
    const prompts: Record<string, string> = { '.gadugi/config.json': JSON.stringify({ worktree: { ahead: false } }) };
    for (const [id, gate] of Object.entries(gates))
      prompts[`prompts/${id}.md`] = `# Task ${id}\n${agentScript({ steps: [{ waitFor: gate }, ...finishes(`${id}.txt`)] })}`;
    await writeFiles(repo, prompts);
    // git runs post-checkout at the end of every `git worktree add`: it writes down which worktree
    // was made, and whether a's agent had been let go by then.
    const made = path.join(state, 'made.log');
    const hook = path.join(repo, '.git', 'hooks', 'post-checkout');
    await writeFile(
      hook,
      `#!/bin/sh\nif [ -e '${gates.a}' ]; then when=after-a; else when=while-a; fi\necho "$(basename "$PWD") $when" >> '${made}'\n`,
    );
    await chmod(hook, 0o755);
    const env = fakeAgentEnv(state, { ORCH_SAMPLER_FILE: await roomyMachine(state) });
    const orch = startOrch(['run', 'prompts/*.md', '--max-parallel', '1'], { cwd: repo, env });

    await waitFor(async () => (await agentStarts(state)).length === 1, 20_000, 'the first agent to start');
    const registry = await readRunRegistry(repo);
    const [a, b, c] = registry.tasks;
    // a's agent waits at its gate while orch's loop turns: two heartbeats later (with ahead on,
    // ahead.test.ts sees b's worktree made by then), still only a's worktree.
    const beats = new Set<string>();
    await waitFor(
      async () => {
        beats.add((await readRunRegistry(repo)).run.heartbeatAt);
        return beats.size >= 3;
      },
      20_000,
      'two heartbeats of the run',
    );
    const listed = (await listedWorktrees(repo)).map((entry) => entry.path);
    expect(listed).toContain(a!.worktree);
    expect(listed).not.toContain(b!.worktree);
    expect(listed).not.toContain(c!.worktree);
    expect((await readRunRegistry(repo)).tasks.map((task) => task.status)).toEqual(['running', 'pending', 'pending']);

    await writeFile(gates.a, '');
    await writeFile(gates.b, '');
    await writeFile(gates.c, '');
    const result = await orch;
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    // Every worktree was made once, b's and c's only after a's agent was let go.
    expect((await readFile(made, 'utf8')).trim().split('\n')).toEqual(['a while-a', 'b after-a', 'c after-a']);
    const after = await readRunRegistry(repo);
    expect(after.tasks.map((task) => task.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    for (const task of after.tasks) expect(await git(repo, 'show', `${task.branch}:${task.id}.txt`)).toBe(`${task.id}.txt`);
    await git(repo, 'fsck', '--no-progress');
  });
});

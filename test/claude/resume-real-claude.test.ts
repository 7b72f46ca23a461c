import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { processesWithCommandLine } from '../support/agents.js';
import { realClaudeEnv, scriptedApi } from '../support/claude.js';
import { git, tempRepo } from '../support/git.js';
import { runOrch } from '../support/orch.js';
import { readRunRegistry } from '../support/run-state.js';
import { startOrch, waitFor } from '../support/spawn.js';
import { writeFiles } from '../support/tmp.js';

describe('Ctrl-C and resume with the real claude CLI (offline, scripted Messages API)', () => {
  it('continues the interrupted Claude session in its worktree and lands the commit', async () => {
    const resumedPrompts: string[] = [];
    const api = await scriptedApi((conversation) => {
      if (!/\(id `slow`/.test(conversation.prompt)) return { text: 'unexpected prompt' };
      const cwd = conversation.cwd ?? '.';
      const results = conversation.toolResults;
      // Resumed: the CLI recorded the hung call as interrupted. Commit once, then finish.
      const interruptedAt = results.findIndex((result) => /tool call interrupted/i.test(result));
      if (interruptedAt !== -1) {
        resumedPrompts.push(results[interruptedAt]!);
        if (interruptedAt === results.length - 1)
          return {
            tool: { name: 'Bash', input: { command: 'git add slow.txt && git commit -q -m "Add slow.txt"', description: 'Commit' } },
          };
        return { text: 'Done: slow.' };
      }
      // First session: write, then a long step (the run is interrupted there).
      const turns = [
        { tool: { name: 'Write', input: { file_path: path.join(cwd, 'slow.txt'), content: 'written before the interrupt\n' } } },
        { tool: { name: 'Bash', input: { command: 'node -e "setTimeout(() => {}, 600000)"', description: 'A long step' } } },
      ];
      return turns[conversation.step] ?? { text: 'unexpected: the long step returned' };
    });
    const repo = await tempRepo();
    await writeFiles(repo, { 'prompts/slow.md': '# Slow\nWrite slow.txt and commit it.\n' });
    const env = await realClaudeEnv(api.url);

    const orch = startOrch(['run', 'prompts/slow.md'], { cwd: repo, env });
    const registry = await waitFor(
      async () => {
        const current = await readRunRegistry(repo);
        const log = await readFile(path.join(repo, '.gadugi', 'runs', current.run.id, 'logs', 'slow.jsonl'), 'utf8');
        return log.includes('setTimeout') ? current : undefined;
      },
      60_000,
      'the agent to reach its long step',
    );
    orch.kill('SIGINT');
    expect((await orch).exitCode).toBe(130);
    // Nothing the agent started outlives the interrupt, its long-running command included.
    expect(await processesWithCommandLine('setTimeout(() => {}, 600000)')).toEqual([]);
    const interrupted = (await readRunRegistry(repo)).tasks[0]!;
    expect(interrupted).toMatchObject({ status: 'interrupted', sessionId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(await readFile(path.join(interrupted.worktree, 'slow.txt'), 'utf8')).toBe('written before the interrupt\n');

    const resumed = await runOrch(['resume'], { cwd: repo, env });
    expect(resumed.stderr).toBe('');
    expect(resumed.exitCode).toBe(0);
    const task = (await readRunRegistry(repo, registry.run.id)).tasks[0]!;
    expect(task).toMatchObject({ status: 'succeeded', attempts: 2, sessionId: interrupted.sessionId });
    expect(task.attemptLog.map((attempt) => attempt.kind)).toEqual(['fresh', 'resume']);
    expect(task.commits.map((commit) => commit.subject)).toEqual(['Add slow.txt']);
    expect(await git(repo, 'show', `${task.branch}:slow.txt`)).toBe('written before the interrupt');
    // The same conversation went on: the resumed model saw its own interrupted call.
    expect(resumedPrompts.length).toBeGreaterThan(0);
  });
});

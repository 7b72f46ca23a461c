import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SANDBOX_RACE, perTaskScript, type ToolCall } from '../../demo/scripted-api.js';
import { realClaudeEnv, scriptedApi } from '../support/claude.js';
import { git, tempRepo } from '../support/git.js';
import { runOrch } from '../support/orch.js';
import { readRunRegistry } from '../support/run-state.js';
import { writeFiles } from '../support/tmp.js';

const writeAndCommit =
  (file: string, content: string, message: string) =>
  (cwd: string): ToolCall[] => [
    { name: 'Write', input: { file_path: path.join(cwd, file), content } },
    { name: 'Bash', input: { command: `git add ${file} && git commit -q -m "${message}"`, description: 'Commit the change' } },
  ];

describe('orch run with the real claude CLI (offline, scripted Messages API)', () => {
  it('lands each agent’s real Write and Bash tool calls as commits on its branch', async () => {
    const api = await scriptedApi(
      perTaskScript({
        alpha: writeAndCommit('alpha.txt', 'alpha\n', 'Add alpha'),
        beta: writeAndCommit('beta.txt', 'beta\n', 'Add beta'),
        gamma: (cwd) => [
          { name: 'Bash', input: { command: 'cat alpha.txt', description: 'Read what alpha made' } },
          ...writeAndCommit('gamma.txt', 'gamma after alpha\n', 'Add gamma')(cwd),
        ],
      }),
    );
    const repo = await tempRepo({ 'README.md': '# real claude test\n' });
    await writeFiles(repo, {
      'prompts/alpha.md': '# Alpha\nCreate alpha.txt.\n',
      'prompts/beta.md': '# Beta\nCreate beta.txt.\n',
      'prompts/gamma.md': '# Gamma\nThis depends on alpha.\n',
    });
    const result = await runOrch(['run', 'prompts/*.md'], { cwd: repo, env: await realClaudeEnv(api.url) });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);

    const registry = await readRunRegistry(repo);
    for (const task of registry.tasks) {
      const name = task.id;
      expect(task.status).toBe('succeeded');
      expect(await git(repo, 'show', `${task.branch}:${name}.txt`)).toContain(name === 'gamma' ? 'gamma after alpha' : name);
      expect(task.commits.map((commit) => commit.subject)).toEqual([`Add ${name}`]);
      // Session id, turns and cost come from the real CLI's own stream.
      const log = await readFile(path.join(repo, '.gadugi', 'runs', registry.run.id, task.attemptLog[0]!.log), 'utf8');
      const lines = log
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      const init = lines.find((line) => line.type === 'system' && line.subtype === 'init')!;
      const final = lines.at(-1)!;
      expect(final).toMatchObject({ type: 'result', is_error: false });
      expect(task.sessionId).toBe(init.session_id);
      expect(task.turns).toBe(final.num_turns);
      expect(task.turns).toBeGreaterThanOrEqual(3);
      expect(task.costUsd).toBe(final.total_cost_usd);
      expect(task.permissionDenials).toEqual([]);
    }
    // gamma ran after alpha, on a branch holding alpha's work.
    expect(await git(repo, 'show', `${registry.tasks.find((task) => task.id === 'gamma')!.branch}:alpha.txt`)).toBe('alpha');
    // Seven tool calls, each played once; a command that met the sandbox's race between agents side
    // by side is played again (see SANDBOX_RACE), and only then.
    let replayed = 0;
    for (const task of registry.tasks) {
      const log = await readFile(path.join(repo, '.gadugi', 'runs', registry.run.id, task.attemptLog[0]!.log), 'utf8');
      replayed += log
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { type: string; message?: { content?: Array<{ type: string; content?: unknown }> } })
        .filter((line) => line.type === 'user')
        .flatMap((line) => line.message?.content ?? [])
        .filter((block) => block.type === 'tool_result' && SANDBOX_RACE.test(JSON.stringify(block.content))).length;
    }
    expect(api.requests.filter((request) => request.reply === 'tool')).toHaveLength(7 + replayed);
  });
});

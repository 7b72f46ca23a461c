import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { perTaskScript, type Script, type ToolCall } from '../../demo/scripted-api.js';
import { realClaudeEnv, scriptedApi } from '../support/claude.js';
import { git, tempRepo } from '../support/git.js';
import { runOrch } from '../support/orch.js';
import { readRunRegistry } from '../support/run-state.js';
import { writeFiles } from '../support/tmp.js';

const RESOLVED = 'export const greet = (name) => `Hello, ${name}!`; // both: the greeting and the exclamation\n';

/** The tasks' agents rewrite the same line; the merge agent reads the conflict, writes both intents, concludes the merge. */
const tasks = perTaskScript({
  hello: (cwd) => [
    { name: 'Write', input: { file_path: path.join(cwd, 'greet.js'), content: 'export const greet = (name) => `Hello, ${name}`;\n' } },
    { name: 'Bash', input: { command: 'git add greet.js && git commit -q -m "Say hello"', description: 'Commit' } },
  ],
  excite: (cwd) => [
    { name: 'Write', input: { file_path: path.join(cwd, 'greet.js'), content: 'export const greet = (name) => `Hi, ${name}!`;\n' } },
    { name: 'Bash', input: { command: 'git add greet.js && git commit -q -m "Be excited"', description: 'Commit' } },
  ],
});

const script: Script = (conversation) => {
  if (!conversation.prompt.startsWith('You are a merge agent started by orch')) return tasks(conversation);
  const cwd = conversation.cwd ?? '.';
  const steps: ToolCall[] = [
    { name: 'Read', input: { file_path: path.join(cwd, 'greet.js') } },
    { name: 'Write', input: { file_path: path.join(cwd, 'greet.js'), content: RESOLVED } },
    { name: 'Bash', input: { command: 'git add -A && git commit -q --no-edit', description: 'Conclude the merge' } },
  ];
  const call = steps[conversation.step];
  return call ? { tool: call } : { text: 'Resolved: both the greeting change and the exclamation are kept.' };
};

describe('orch merge --resolve with the real claude CLI (offline, scripted Messages API)', () => {
  it('a real conflict is resolved by the real CLI’s Read, Write and Bash calls, and integrated', async () => {
    const api = await scriptedApi(script);
    const repo = await tempRepo({ 'greet.js': 'export const greet = (name) => `Hello ${name}`;\n' });
    await writeFiles(repo, {
      'prompts/hello.md': '# Hello\nAdd a comma after Hello.\n',
      'prompts/excite.md': '# Excite\nEnd the greeting with "!".\n',
    });
    const env = await realClaudeEnv(api.url);
    expect((await runOrch(['run', 'prompts/*.md'], { cwd: repo, env })).exitCode).toBe(0);

    const merged = await runOrch(['merge', '--resolve', '--check', 'node -e "import(\'./greet.js\')"'], { cwd: repo, env });
    expect(merged.stderr).toBe('');
    expect(merged.exitCode).toBe(0);
    const registry = await readRunRegistry(repo);
    // excite comes first (the run's order) and merges cleanly; hello then conflicts with it.
    expect(registry.tasks.find((task) => task.id === 'excite')!.merge).toMatchObject({ status: 'merged' });
    const hello = registry.tasks.find((task) => task.id === 'hello')!;
    expect(hello.merge).toMatchObject({ status: 'merged', resolution: { outcome: 'resolved' } });
    expect(hello.merge!.resolution!.turns).toBeGreaterThanOrEqual(4);
    expect(hello.merge!.resolution!.costUsd).toBeGreaterThan(0);
    const branch = registry.run.merge!.branch;
    expect(await git(repo, 'show', `${branch}:greet.js`)).toBe(RESOLVED.trimEnd());
    // The merge commit the agent concluded carries orch's message (and trailer), with both tasks as parents.
    const body = await git(repo, 'log', '-1', '--format=%B', branch);
    expect(body).toContain(`Orch-Task: ${registry.run.id}/hello`);
    expect((await git(repo, 'rev-list', '--parents', '-n', '1', branch)).split(' ')).toHaveLength(3);
    expect(api.requests.some((request) => request.promptStart.startsWith('You are a merge agent started by orch'))).toBe(true);
  });
});

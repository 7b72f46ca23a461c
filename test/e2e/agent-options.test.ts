import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentScript, agentStarts, agentState, fakeAgentEnv } from '../support/agents.js';
import { git, tempRepo } from '../support/git.js';
import { projectRoot, runOrch } from '../support/orch.js';
import { readLedger, readRunRegistry } from '../support/run-state.js';
import { expectOneLine } from '../support/expect.js';
import { writeFiles } from '../support/tmp.js';

describe('agent options', () => {
  it('passes --model and --max-turns from flags, with frontmatter winning per task', async () => {
    const repo = await tempRepo();
    await writeFiles(repo, {
      'prompts/plain.md': '# Plain\n',
      'prompts/special.md': '---\nmodel: opus\nmax_turns: 7\n---\n# Special\n',
      '.gadugi/config.json': JSON.stringify({
        agent: {
          appendSystemPrompt: 'Be brief.',
          maxBudgetUsd: 2.5,
          extraArgs: ['--fallback-model', 'haiku'],
          allowedTools: ['Bash(git:*)', 'Bash(npm run test:*)'],
        },
      }),
    });
    const state = await agentState();
    expect(
      (await runOrch(['run', 'prompts/*.md', '--model', 'sonnet', '--max-turns', '20'], { cwd: repo, env: fakeAgentEnv(state) })).exitCode,
    ).toBe(0);
    const args = Object.fromEntries((await agentStarts(state)).map((start) => [start.taskId, start.args]));
    const after = (list: string[], flag: string) => list[list.indexOf(flag) + 1];
    expect(after(args.plain!, '--model')).toBe('sonnet');
    expect(after(args.plain!, '--max-turns')).toBe('20');
    expect(after(args.special!, '--model')).toBe('opus');
    expect(after(args.special!, '--max-turns')).toBe('7');
    expect(after(args.plain!, '--append-system-prompt')).toBe('Be brief.');
    expect(after(args.plain!, '--max-budget-usd')).toBe('2.5');
    expect(after(args.plain!, '--fallback-model')).toBe('haiku');
    // One allowed-tools rule per argument, so rules with spaces stay whole.
    expect(args.plain!.slice(args.plain!.indexOf('--allowedTools'))).toEqual(['--allowedTools', 'Bash(git:*)', 'Bash(npm run test:*)']);
  });

  it('records permission denials and shows them, without failing the task', async () => {
    const repo = await tempRepo();
    await writeFiles(repo, {
      'prompts/a.md': `# A\n${agentScript({ steps: [{ deny: 'WebFetch' }, { deny: 'WebFetch' }, { write: 'a.txt', content: 'a\n' }, { commit: 'a' }] })}`,
    });
    const state = await agentState();
    const result = await runOrch(['run', 'prompts/a.md'], { cwd: repo, env: fakeAgentEnv(state) });
    expect(result.exitCode).toBe(0);
    expect((await readRunRegistry(repo)).tasks[0]).toMatchObject({
      status: 'succeeded',
      permissionDenials: ['WebFetch'],
      reason: 'permission denied for: WebFetch',
    });
    expect(result.stdout).toContain('a succeeded (1 commit): permission denied for: WebFetch');
  });

  it('runs another agent CLI from agent.command, judged by its exit code with agent.output "text"', async () => {
    const repo = await tempRepo();
    const agent = path.join(projectRoot, 'test', 'fixtures', 'text-agent.sh');
    await writeFiles(repo, {
      'prompts/works.md': '# Works\n',
      'prompts/fails.md': '# Fails\n',
      '.gadugi/config.json': JSON.stringify({ agent: { command: [agent, '{prompt_file}', '{task_id}'], output: 'text' } }),
    });
    const result = await runOrch(['run', 'prompts/*.md', '--retries', '0', '--no-fallback'], { cwd: repo });
    expect(result.exitCode).toBe(1);
    const registry = await readRunRegistry(repo);
    const task = (id: string) => registry.tasks.find((candidate) => candidate.id === id)!;
    expect(task('works')).toMatchObject({ status: 'succeeded', commits: [{ subject: 'text agent: works' }] });
    expect(await git(repo, 'show', `${task('works').branch}:works.out`)).toBe('works');
    expect(task('fails')).toMatchObject({ status: 'failed', failure: 'exit-code', reason: 'exited 4: cannot do it' });
  });

  it('fills agent.command placeholders, and says once which settings a command does not use', async () => {
    const repo = await tempRepo();
    const agent = path.join(projectRoot, 'test', 'fixtures', 'argv-agent.mjs');
    const state = await agentState();
    await writeFiles(repo, {
      'prompts/a.md': '---\nmodel: opus\n---\n# A\n',
      'prompts/b.md': '# B\n',
      '.gadugi/config.json': JSON.stringify({
        agent: {
          command: [
            agent,
            '--model={model}',
            '--turns',
            '{max_turns}',
            '{allowed_tools}',
            '--tools={allowed_tools}',
            '{extra_args}',
            '{resume_session_id}',
          ],
          output: 'text',
          allowedTools: ['Read', 'Bash(npm test:*)'],
          extraArgs: ['--fast', '--quiet'],
          appendSystemPrompt: 'Be brief.',
        },
      }),
    });
    const result = await runOrch(['run', 'prompts/*.md', '--model', 'sonnet', '--json'], { cwd: repo, env: { FAKE_CLAUDE_STATE: state } });
    expect(result.exitCode).toBe(0);
    const argv = Object.fromEntries(
      (await readFile(path.join(state, 'argv.ndjson'), 'utf8'))
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { task: string; argv: string[] })
        .map((entry) => [entry.task, entry.argv]),
    );
    // Frontmatter wins over the flag; an argument that is only a placeholder without a value is left out.
    expect(argv.a).toEqual(['--model=opus', '--turns', 'Read', 'Bash(npm test:*)', '--tools=Read,Bash(npm test:*)', '--fast', '--quiet']);
    expect(argv.b![0]).toBe('--model=sonnet');
    // appendSystemPrompt has no placeholder: one warning, in the output and the ledger; and
    // Claude Code's sandbox is not for another agent CLI, which is said too.
    const warnings = (await readLedger(repo)).filter((event) => event.type === 'warning');
    expect(warnings).toEqual([
      expect.objectContaining({
        message:
          'agent.command does not use {append_system_prompt}, so agent.appendSystemPrompt does not reach the agent; add {append_system_prompt} to agent.command where it belongs',
      }),
      expect.objectContaining({
        message: 'sandbox: off (agent.command is not Claude Code, whose sandbox orch configures; the refs guard still applies)',
      }),
    ]);
    expect(result.stdout).toContain('"type":"warning"');
  });

  it('refuses an agent.command placeholder it does not know, before anything is written', async () => {
    const repo = await tempRepo();
    await writeFiles(repo, {
      'prompts/a.md': '# A\n',
      '.gadugi/config.json': JSON.stringify({ agent: { command: ['/bin/true', '{prompt}'], output: 'text' } }),
    });
    const result = await runOrch(['run', 'prompts/a.md'], { cwd: repo });
    expectOneLine(result, /^orch: agent\.command uses \{prompt\}, which orch does not fill in: use \{prompt_file\}, \{task_id\}/);
    expect(await readdir(path.join(repo, '.gadugi'))).toEqual(['config.json']);
  });

  it('an agent.command whose program does not exist', async () => {
    const repo = await tempRepo();
    await writeFiles(repo, {
      'prompts/a.md': '# A\n',
      '.gadugi/config.json': JSON.stringify({ agent: { command: ['no-such-agent-cli', '{prompt_file}'] } }),
    });
    expectOneLine(
      await runOrch(['run', 'prompts/a.md'], { cwd: repo }),
      /^orch: agent command "no-such-agent-cli" \(agent\.command\) not found on PATH: install it or give its full path\.$/,
    );
  });
});

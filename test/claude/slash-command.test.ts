import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { playedSteps, type Conversation, type Reply } from '../../demo/scripted-api.js';
import { realClaude, realClaudeEnv, scriptedApi } from '../support/claude.js';
import { git, tempRepo } from '../support/git.js';
import { orchBin, runOrch } from '../support/orch.js';
import { tempDir, writeFiles } from '../support/tmp.js';

interface StatusJson {
  run: { id: string; status: string };
  tasks: Array<{ id: string; status: string; branch: string; commits: Array<{ subject: string }> }>;
}

/**
 * The scripted model. Inner WorkflowManager sessions (orch's agents) write and commit a file;
 * the outer session follows the /orchestrate command: start detached, wait, read the status,
 * answer with what it read.
 */
function script(commands: string[], offered: string[]): (conversation: Conversation) => Reply {
  return (conversation) => {
    const task = /\(id `([^`]+)`/.exec(conversation.prompt)?.[1];
    if (task) {
      const calls = [
        { name: 'Write', input: { file_path: path.join(conversation.cwd ?? '.', `${task}.txt`), content: `${task} was here\n` } },
        { name: 'Bash', input: { command: `git add ${task}.txt && git commit -q -m "Add ${task}"`, description: 'Commit' } },
      ];
      const call = calls[playedSteps(conversation)];
      return call ? { tool: call } : { text: `Done: ${task}.` };
    }
    if (!conversation.prompt.includes('Run these tasks as parallel Claude Code agents with orch')) return { text: 'unexpected prompt' };
    if (conversation.step === 0) offered.push(...conversation.tools, ...conversation.deferredTools);
    const runId = conversation.toolResults.map((result) => /\d{8}-\d{6}-[0-9a-f]{4}/.exec(result)?.[0]).find(Boolean);
    const next = [`orch run prompts/*.md --detach`, `orch wait ${runId} --timeout 300`, `orch status ${runId} --json`][conversation.step];
    if (next) {
      commands.push(next);
      return { tool: { name: 'Bash', input: { command: next, description: 'orch' } } };
    }
    const status = JSON.parse(conversation.lastToolResult ?? '{}') as StatusJson;
    const lines = status.tasks.map(
      (t) => `- ${t.id}: ${t.status} on ${t.branch} (${t.commits.map((commit) => commit.subject).join(', ')})`,
    );
    return { text: `Run ${status.run.id} ${status.run.status}.\n${lines.join('\n')}` };
  };
}

describe('/orchestrate inside the real Claude Code CLI (offline, scripted Messages API)', () => {
  it('without orch’s MCP tools, runs orch detached through Bash, and the inner agents’ work lands on branches', async () => {
    const commands: string[] = [];
    const offered: string[] = [];
    const api = await scriptedApi(script(commands, offered));
    const repo = await tempRepo({ 'README.md': '# slash command test\n' });
    await writeFiles(repo, { 'prompts/alpha.md': '# Alpha\nCreate alpha.txt.\n', 'prompts/beta.md': '# Beta\nCreate beta.txt.\n' });
    expect((await runOrch(['init'], { cwd: repo })).exitCode).toBe(0);

    // `orch` on PATH for the outer session's Bash tool, as an installed orch would be.
    const bin = await tempDir('orch-bin-');
    await mkdir(bin, { recursive: true });
    await writeFile(path.join(bin, 'orch'), `#!/bin/sh\nexec "${process.execPath}" "${orchBin}" "$@"\n`);
    await chmod(path.join(bin, 'orch'), 0o755);
    const env = { ...process.env, ...(await realClaudeEnv(api.url)), PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}` };

    // No MCP servers (the project's .mcp.json ignored): the command's Bash path.
    const outer = await execa(
      realClaude,
      ['-p', '/orchestrate prompts/*.md', '--output-format', 'stream-json', '--verbose', '--strict-mcp-config'],
      {
        cwd: repo,
        env,
        reject: false,
        stdin: 'ignore',
        timeout: 240_000,
      },
    );
    expect(outer.exitCode).toBe(0);
    const lines = String(outer.stdout)
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const result = lines.at(-1)!;
    expect(result).toMatchObject({ type: 'result', is_error: false, permission_denials: [] });
    expect(offered).toContain('Bash');
    expect(offered.filter((tool) => tool.startsWith('mcp__'))).toEqual([]);

    // The model issued exactly the commands /orchestrate asks for, and they were allowed to run.
    const runId = /\d{8}-\d{6}-[0-9a-f]{4}/.exec(commands[1]!)![0];
    expect(commands).toEqual(['orch run prompts/*.md --detach', `orch wait ${runId} --timeout 300`, `orch status ${runId} --json`]);
    const toolResults = lines
      .filter((line) => line.type === 'user')
      .map((line) => JSON.stringify((line.message as { content: unknown[] }).content));
    expect(toolResults[0]).toContain(runId);
    expect(toolResults[1]).toContain(`run ${runId} succeeded (exit 0): 2 succeeded`);

    // The inner agents (real claude, started by orch) committed on their branches.
    for (const task of ['alpha', 'beta']) {
      expect(await git(repo, 'show', `orch/${runId}/${task}:${task}.txt`)).toBe(`${task} was here`);
      expect(await git(repo, 'log', '-1', '--format=%s', `orch/${runId}/${task}`)).toBe(`Add ${task}`);
    }
    // The outer session's final answer lists them.
    expect(result.result).toBe(
      `Run ${runId} succeeded.\n- alpha: succeeded on orch/${runId}/alpha (Add alpha)\n- beta: succeeded on orch/${runId}/beta (Add beta)`,
    );
  });
});

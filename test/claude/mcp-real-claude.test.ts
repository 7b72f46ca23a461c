import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { SANDBOX_RACE, playedSteps, type Conversation, type Reply, type ToolCall } from '../../demo/scripted-api.js';
import { realClaude, realClaudeEnv, scriptedApi } from '../support/claude.js';
import { git, tempRepo } from '../support/git.js';
import { orchBin, runOrch } from '../support/orch.js';
import { tempDir } from '../support/tmp.js';

interface Status {
  run: { id: string; status: string; [key: string]: unknown };
  tasks: Array<{ id: string; status: string; branch: string; commits: Array<{ subject: string }>; [key: string]: unknown }>;
  done?: boolean;
}

const ORCH_TOOLS = ['mcp__orch__add_tasks', 'mcp__orch__plan', 'mcp__orch__run', 'mcp__orch__wait', 'mcp__orch__status'];

/** What the outer session's scripted model did and saw. */
interface Transcript {
  calls: ToolCall[];
  /** Every tool result of the conversation, as the model received it in its last request. */
  results: string[];
  /** Whether orch's tools were named to the model (deferred: loaded with ToolSearch) in its first request. */
  offered: boolean;
}

const parse = (text: string | undefined): Record<string, unknown> => {
  try {
    return JSON.parse(text ?? '') as Record<string, unknown>;
  } catch {
    return {};
  }
};

/**
 * The scripted model. Inner WorkflowManager sessions (orch's agents) write and commit a file; the
 * outer session follows /orchestrate with orch's MCP tools: loads them (the CLI defers MCP tools
 * behind ToolSearch), queues the tasks, plans, runs, waits in slices until done, reads the status
 * and answers with it. Each next step is decided from the tool result the model was sent.
 */
function script(transcript: Transcript): (conversation: Conversation) => Reply {
  const call = (name: string, input: Record<string, unknown>): Reply => {
    transcript.calls.push({ name, input });
    return { tool: { name, input } };
  };
  return (conversation) => {
    const task = /\(id `([^`]+)`/.exec(conversation.prompt)?.[1];
    if (task) {
      const calls = [
        { name: 'Write', input: { file_path: path.join(conversation.cwd ?? '.', `${task}.txt`), content: `${task} was here\n` } },
        { name: 'Bash', input: { command: `git add ${task}.txt && git commit -q -m "Add ${task}"`, description: 'Commit' } },
      ];
      // A command that met the race between sandboxes side by side is run again, as orch's prompt
      // tells agents to (see SANDBOX_RACE): the two agents here start at the same moment.
      const call = calls[playedSteps(conversation)];
      return call ? { tool: call } : { text: `Done: ${task}.` };
    }
    if (!conversation.prompt.includes('Run these tasks as parallel Claude Code agents with orch')) return { text: 'unexpected prompt' };
    transcript.results = conversation.toolResults;
    if (conversation.step === 0) {
      transcript.offered = ORCH_TOOLS.every((name) => conversation.deferredTools.includes(name) || conversation.tools.includes(name));
      if (!transcript.offered) return { text: 'orch’s MCP tools are not available.' };
      return call('ToolSearch', { query: `select:${ORCH_TOOLS.join(',')}` });
    }
    if (conversation.step === 1) {
      return call('mcp__orch__add_tasks', {
        tasks: ['alpha', 'beta'].map((id) => ({
          id,
          title: `Add ${id}.txt`,
          prompt: `Create ${id}.txt and commit it.`,
          files: [`${id}.txt`],
        })),
      });
    }
    const last = parse(conversation.lastToolResult);
    const paths = parse(conversation.toolResults.find((result) => result.includes('"paths"'))).paths;
    const runId = parse(conversation.toolResults.find((result) => result.includes('"runId"'))).runId;
    if ('paths' in last) return call('mcp__orch__plan', { files: paths });
    if ('waves' in last) return call('mcp__orch__run', { files: paths });
    if ('pid' in last || last.done === false) return call('mcp__orch__wait', { run_id: runId, timeout_seconds: 1 });
    if (last.done === true) return call('mcp__orch__status', { run_id: runId });
    const status = last as unknown as Status;
    if (!status.run) return { text: `unexpected tool result: ${conversation.lastToolResult}` };
    const lines = status.tasks.map(
      (t) => `- ${t.id}: ${t.status} on ${t.branch} (${t.commits.map((commit) => commit.subject).join(', ')})`,
    );
    return { text: `Run ${status.run.id} ${status.run.status}.\n${lines.join('\n')}` };
  };
}

/** A status without what moves with the clock (heartbeat ages) or with a process on its way out. */
function stable(view: Status): Status {
  const copy = structuredClone(view);
  delete copy.run.heartbeatAgeMs;
  delete copy.run.orchestratorAlive;
  delete copy.done;
  return copy;
}

describe('orch mcp inside the real Claude Code CLI (offline, scripted Messages API)', () => {
  it('after orch init, /orchestrate queues, runs, waits for and reports tasks through orch’s MCP tools', async () => {
    const transcript: Transcript = { calls: [], results: [], offered: false };
    const api = await scriptedApi(script(transcript));
    const repo = await tempRepo({ 'README.md': '# mcp test\n' });
    expect((await runOrch(['init'], { cwd: repo })).exitCode).toBe(0);

    // `orch` on PATH, as an installed orch would be: Claude Code starts `orch mcp` from .mcp.json.
    const bin = await tempDir('orch-bin-');
    await writeFile(path.join(bin, 'orch'), `#!/bin/sh\nexec "${process.execPath}" "${orchBin}" "$@"\n`);
    await chmod(path.join(bin, 'orch'), 0o755);
    // In -p mode the CLI does not wait for MCP servers unless told to: without this, a server slower
    // to start than the CLI's first request (a loaded machine) misses the first turn.
    const env = {
      ...process.env,
      ...(await realClaudeEnv(api.url)),
      MCP_CONNECTION_NONBLOCKING: 'false',
      PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}`,
    };

    const outer = await execa(
      realClaude,
      ['-p', '/orchestrate add alpha.txt; add beta.txt', '--output-format', 'stream-json', '--verbose'],
      { cwd: repo, env, reject: false, stdin: 'ignore', timeout: 240_000 },
    );
    expect(outer.exitCode, String(outer.stderr)).toBe(0);
    const lines = String(outer.stdout)
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    // The project's server was started and connected without an approval step, and its tools were allowed by the command.
    expect(lines[0]).toMatchObject({ type: 'system', subtype: 'init', mcp_servers: [{ name: 'orch', status: 'connected' }] });
    const result = lines.at(-1)!;
    expect(result).toMatchObject({ type: 'result', is_error: false, permission_denials: [] });
    expect(transcript.offered).toBe(true);

    // The model's calls, in order: load the tools, queue, plan, run, wait in slices until done, status.
    const names = transcript.calls.map((call) => call.name);
    const waits = names.filter((name) => name === 'mcp__orch__wait').length;
    expect(waits).toBeGreaterThanOrEqual(1);
    expect(names).toEqual([
      'ToolSearch',
      'mcp__orch__add_tasks',
      'mcp__orch__plan',
      'mcp__orch__run',
      ...Array<string>(waits).fill('mcp__orch__wait'),
      'mcp__orch__status',
    ]);

    // What the tools returned reached the model, as the tool results of its next requests.
    const [, added, plan, started, ...rest] = transcript.results.map((text) => parse(text));
    expect(added).toMatchObject({ paths: ['prompts/alpha.md', 'prompts/beta.md'] });
    expect(plan).toMatchObject({ waves: [['alpha', 'beta']] });
    const runId = started!.runId as string;
    expect(runId).toMatch(/^\d{8}-\d{6}-[0-9a-f]{4}$/);
    const finalWait = rest.at(-2) as unknown as Status;
    const status = rest.at(-1) as unknown as Status;
    expect(finalWait).toMatchObject({ done: true, run: { id: runId, status: 'succeeded' } });
    const cli = JSON.parse((await runOrch(['status', runId, '--json'], { cwd: repo })).stdout) as Status;
    expect(stable(status)).toEqual(stable(cli));
    expect(stable(finalWait)).toEqual(stable(cli));

    // The run really happened: the prompt files add_tasks wrote, the inner agents' commits on their branches.
    expect(await readFile(path.join(repo, 'prompts', 'alpha.md'), 'utf8')).toMatch(/^---\nid: alpha\ntitle: Add alpha\.txt\n/);
    for (const task of ['alpha', 'beta']) {
      // Should the agent's own commit be missing, what its tools answered says why.
      const toolResults = (await readFile(path.join(repo, '.gadugi', 'runs', runId, 'logs', `${task}.jsonl`), 'utf8'))
        .split('\n')
        .filter((line) => line.includes('"tool_result"'))
        .join('\n');
      expect(await git(repo, 'show', `orch/${runId}/${task}:${task}.txt`)).toBe(`${task} was here`);
      expect(await git(repo, 'log', '-1', '--format=%s', `orch/${runId}/${task}`), toolResults).toBe(`Add ${task}`);
    }
    // Each inner agent's two calls (write, commit) each succeeded once; a result that met the
    // sandbox race, if any, was followed by the same call again.
    for (const task of ['alpha', 'beta']) {
      const log = await readFile(path.join(repo, '.gadugi', 'runs', runId, 'logs', `${task}.jsonl`), 'utf8');
      const results = log
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { type: string; message?: { content?: Array<{ type: string; content?: unknown }> } })
        .filter((line) => line.type === 'user')
        .flatMap((line) => line.message?.content ?? [])
        .filter((block) => block.type === 'tool_result')
        .map((block) => JSON.stringify(block.content));
      expect(results.filter((text) => !SANDBOX_RACE.test(JSON.parse(text) as string))).toHaveLength(2);
    }
    expect(result.result).toBe(
      `Run ${runId} succeeded.\n- alpha: succeeded on orch/${runId}/alpha (Add alpha)\n- beta: succeeded on orch/${runId}/beta (Add beta)`,
    );
  });
});

import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentScript, agentStarts, agentState, fakeAgentEnv, finishes, killStrays } from '../support/agents.js';
import { git, tempRepo } from '../support/git.js';
import { projectRoot, runOrch } from '../support/orch.js';
import { readLedger, readRunRegistry } from '../support/run-state.js';
import { startOrch, startOrchWithRunningAgent, waitFor } from '../support/spawn.js';
import { writeFiles } from '../support/tmp.js';
import { expectOneLine } from '../support/expect.js';

describe('orch init', () => {
  it('writes the slash command, the agent and the config, and never overwrites without --force', async () => {
    const repo = await tempRepo();
    const first = await runOrch(['init'], { cwd: repo });
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toContain('wrote .claude/commands/orchestrate.md');
    expect(first.stdout).toContain('wrote .mcp.json (the orch MCP server)');
    expect(JSON.parse(await readFile(path.join(repo, '.mcp.json'), 'utf8'))).toEqual({
      mcpServers: { orch: { command: 'orch', args: ['mcp'] } },
    });
    for (const [target, template] of [
      ['.claude/commands/orchestrate.md', 'commands/orchestrate.md'],
      ['.claude/agents/workflow-manager.md', 'agents/workflow-manager.md'],
      ['.gadugi/config.json', 'config.json'],
    ]) {
      expect(await readFile(path.join(repo, target!), 'utf8')).toBe(await readFile(path.join(projectRoot, 'templates', template!), 'utf8'));
    }
    await writeFiles(repo, { '.claude/commands/orchestrate.md': 'my own version\n' });
    const second = await runOrch(['init'], { cwd: repo });
    expect(second.stdout).toContain('kept .claude/commands/orchestrate.md (already there; --force overwrites it)');
    expect(second.stdout).toContain('kept the orch MCP server in .mcp.json (already there; --force overwrites it)');
    expect(await readFile(path.join(repo, '.claude/commands/orchestrate.md'), 'utf8')).toBe('my own version\n');
    expect((await runOrch(['init', '--force'], { cwd: repo })).stdout).toContain('overwrote .claude/commands/orchestrate.md');
    // orch's state stays out of git status; the .claude files and .mcp.json are the user's to commit.
    expect(await git(repo, 'status', '--porcelain')).toBe('?? .claude/\n?? .mcp.json');
  });

  it('registers the MCP server in an existing .mcp.json, keeping everything else there; invalid JSON is reported, not overwritten', async () => {
    const repo = await tempRepo();
    const theirs = '{\n    "mcpServers": {\n        "db": { "command": "db-mcp", "args": ["--ro"] }\n    },\n    "note": "keep me"\n}\n';
    await writeFiles(repo, { '.mcp.json': theirs });
    const added = await runOrch(['init'], { cwd: repo });
    expect(added.exitCode).toBe(0);
    expect(added.stdout).toContain('added the orch MCP server to .mcp.json');
    const text = await readFile(path.join(repo, '.mcp.json'), 'utf8');
    expect(JSON.parse(text)).toEqual({
      mcpServers: { db: { command: 'db-mcp', args: ['--ro'] }, orch: { command: 'orch', args: ['mcp'] } },
      note: 'keep me',
    });
    // Written in the file's own indentation, the rest of it untouched.
    expect(text).toContain('\n        "orch": {\n            "command": "orch",');
    expect(text.endsWith('    },\n    "note": "keep me"\n}\n')).toBe(true);

    // An orch entry of the user's own is kept, unless --force.
    const custom = JSON.stringify({ mcpServers: { orch: { command: '/opt/orch/bin/orch', args: ['mcp'] } } });
    await writeFiles(repo, { '.mcp.json': custom });
    expect((await runOrch(['init'], { cwd: repo })).stdout).toContain(
      'kept the orch MCP server in .mcp.json (already there; --force overwrites it)',
    );
    expect(await readFile(path.join(repo, '.mcp.json'), 'utf8')).toBe(custom);
    expect((await runOrch(['init', '--force'], { cwd: repo })).stdout).toContain('overwrote the orch MCP server in .mcp.json');
    expect(JSON.parse(await readFile(path.join(repo, '.mcp.json'), 'utf8'))).toEqual({
      mcpServers: { orch: { command: 'orch', args: ['mcp'] } },
    });

    // Invalid JSON: one line, exit 2, nothing written (the file, and nothing else either).
    const fresh = await tempRepo();
    const broken = '{ "mcpServers": { "db": { "command": "db-mcp", } }\n';
    await writeFiles(fresh, { '.mcp.json': broken });
    expectOneLine(
      await runOrch(['init'], { cwd: fresh }),
      /^orch: \.mcp\.json is not valid JSON \(PropertyNameExpected at line 1, column 48\): fix it, then run orch init again; nothing was written\.$/,
    );
    expect(await readFile(path.join(fresh, '.mcp.json'), 'utf8')).toBe(broken);
    expect(await readdir(fresh)).not.toContain('.claude');
    await writeFiles(fresh, { '.mcp.json': '{ "mcpServers": [] }' });
    expectOneLine(
      await runOrch(['init'], { cwd: fresh }),
      /^orch: \.mcp\.json: "mcpServers" must be an object of servers by name: fix it, then run orch init again; nothing was written\.$/,
    );
    await writeFiles(fresh, { '.mcp.json': '[]' });
    expectOneLine(await runOrch(['init'], { cwd: fresh }), /^orch: \.mcp\.json must hold a JSON object/);
    await rm(path.join(fresh, '.mcp.json'));
    await mkdir(path.join(fresh, '.mcp.json'));
    expectOneLine(await runOrch(['init'], { cwd: fresh }), /^orch: cannot read \.mcp\.json: EISDIR\.$/);
    expect(await readdir(fresh)).not.toContain('.claude');
  });

  it('the slash command only allows orch (its MCP tools, or its commands), read-only git and writing prompt files', async () => {
    const command = await readFile(path.join(projectRoot, 'templates', 'commands', 'orchestrate.md'), 'utf8');
    const allowed = /^allowed-tools: (.*)$/m.exec(command)![1]!.split(', ');
    expect(allowed).toEqual([
      'mcp__orch__add_tasks',
      'mcp__orch__plan',
      'mcp__orch__run',
      'mcp__orch__wait',
      'mcp__orch__status',
      'mcp__orch__logs',
      'Bash(orch:*)',
      'Bash(git status:*)',
      'Bash(git log:*)',
      'Bash(git branch:*)',
      'Bash(git show:*)',
      'Bash(git diff:*)',
      'Read',
      'Write(prompts/**)',
      'Edit(prompts/**)',
    ]);
    expect(command).toContain('orch run <files> --detach');
    expect(command).toContain('orch wait <run-id> --timeout');
  });
});

describe('detached runs, wait and logs', () => {
  it('--detach returns at once while a background orch owns the run; wait returns its exit code', async () => {
    const repo = await tempRepo();
    const state = await agentState();
    const gate = path.join(state, 'open-the-gate');
    await writeFiles(repo, {
      'prompts/a.md': `# A\n${agentScript({ steps: [{ waitFor: gate }, ...finishes('a.txt')] })}`,
      'prompts/b.md': `# B\n${agentScript({ steps: finishes('b.txt') })}`,
    });
    const env = fakeAgentEnv(state);
    const detached = await runOrch(['run', 'prompts/*.md', '--detach', '--json'], { cwd: repo, env });
    expect(detached.exitCode).toBe(0);
    const { runId, pid, log } = JSON.parse(detached.stdout) as { runId: string; pid: number; log: string };
    const registry = await readRunRegistry(repo, runId);
    expect(registry.run).toMatchObject({ status: 'running', detached: true, orchestrator: { pid } });

    const early = await runOrch(['wait', runId, '--timeout', '0.3'], { cwd: repo });
    expect(early.exitCode).toBe(124);
    expect(early.stdout).toMatch(new RegExp(`^run ${runId} is still running after 0\\.3: `));
    await writeFile(gate, '');
    const done = await runOrch(['wait', runId], { cwd: repo });
    expect(done.exitCode).toBe(0);
    expect(done.stdout.trim()).toBe(`run ${runId} succeeded (exit 0): 2 succeeded`);
    // The background orch honours the flags it was given: --json makes its log NDJSON.
    expect(
      (await readFile(log, 'utf8'))
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as { type: string }).type)
        .at(-1),
    ).toBe('run-finished');
    expect(await git(repo, 'show', `orch/${runId}/a:a.txt`)).toBe('a.txt');
  });

  it('a detached run stops on SIGTERM like any run, and wait reports 130; resume --detach finishes it in the background', async () => {
    const repo = await tempRepo();
    await writeFiles(repo, { 'prompts/a.md': `# A\n${agentScript({ runs: [[{ hang: true }], finishes('a.txt')] })}` });
    const state = await agentState();
    const { stdout } = await runOrch(['run', 'prompts/a.md', '--detach'], { cwd: repo, env: fakeAgentEnv(state) });
    const runId = stdout.trim();
    // The agent has really started (its first start is the one that hangs) and its pid is on record.
    await waitFor(async () => (await agentStarts(state)).length === 1, 20_000, 'the agent to start');
    const registry = await waitFor(
      async () => {
        const current = await readRunRegistry(repo, runId);
        return current.tasks[0]!.agent ? current : undefined;
      },
      20_000,
      'the agent',
    );
    process.kill(registry.run.orchestrator.pid, 'SIGTERM');
    const waited = await runOrch(['wait', runId], { cwd: repo });
    expect(waited.exitCode).toBe(130);
    expect((await readRunRegistry(repo, runId)).tasks[0]!.status).toBe('interrupted');

    // The run keeps its worktrees: a worktree root from the environment is ignored, and said to be.
    const resumed = await runOrch(['resume', '--detach', '--json'], {
      cwd: repo,
      env: fakeAgentEnv(state, { ORCH_WORKTREE_ROOT: '../elsewhere' }),
    });
    expect(resumed.exitCode).toBe(0);
    const background = JSON.parse(resumed.stdout) as { runId: string; pid: number; log: string };
    expect(background.runId).toBe(runId);
    expect((await readRunRegistry(repo, runId)).run.orchestrator.pid).toBe(background.pid);
    const finished = await runOrch(['wait', runId], { cwd: repo });
    expect(finished.exitCode).toBe(0);
    const after = await readRunRegistry(repo, runId);
    expect(after.run.sessions).toHaveLength(2);
    expect(after.tasks[0]).toMatchObject({ status: 'succeeded', worktree: registry.tasks[0]!.worktree });
    expect((await readLedger(repo, runId)).filter((event) => event.type === 'warning')).toEqual([
      expect.objectContaining({
        message: `ORCH_WORKTREE_ROOT is ignored: run ${runId} keeps its worktrees under ${registry.run.worktreeRoot}`,
      }),
    ]);
    // Options that belong to a new run only are refused.
    const refused = await runOrch(['resume', runId, '--worktree-root', '../x'], { cwd: repo, env: fakeAgentEnv(state) });
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/unknown option '--worktree-root'/);
  });

  it('wait tells a run whose orchestrator died from one that ended', async () => {
    const repo = await tempRepo();
    await writeFiles(repo, { 'prompts/a.md': `# A\n${agentScript({ steps: [{ hang: true }] })}` });
    const state = await agentState();
    const { orch } = await startOrchWithRunningAgent(repo, ['run', 'prompts/a.md'], state);
    const waiting = startOrch(['wait'], { cwd: repo });
    orch.kill('SIGKILL');
    const result = await waiting;
    expect(result.exitCode).toBe(1);
    expect(String(result.stderr)).toMatch(/stopped without finishing: its orchestrator \(pid \d+\) is gone; `orch resume \S+` finishes it/);
    // Its agent was orphaned on purpose; this test stops it.
    expect(await killStrays(state)).toHaveLength(1);
  });

  it('a detached run with bad input fails in the foreground, leaving nothing', async () => {
    const repo = await tempRepo();
    await writeFiles(repo, { 'prompts/a.md': '---\ndepends_on: [ghost]\n---\nDo a.\n' });
    const result = await runOrch(['run', 'prompts/a.md', '--detach'], { cwd: repo, env: fakeAgentEnv(await agentState()) });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/^orch: prompts\/a\.md: depends_on "ghost" names no task/);
    expect(await readdir(repo)).not.toContain('.gadugi');
  });

  it('merge --detach integrates in the background; wait waits for the merge and exits with its code', async () => {
    const repo = await tempRepo();
    const state = await agentState();
    const gate = path.join(state, 'check-may-pass');
    await writeFiles(repo, {
      'prompts/a.md': `# A\n${agentScript({ steps: finishes('a.txt') })}`,
      'prompts/b.md': `# B\n${agentScript({ steps: finishes('b.txt') })}`,
    });
    expect((await runOrch(['run', 'prompts/*.md'], { cwd: repo, env: fakeAgentEnv(state) })).exitCode).toBe(0);
    const runId = (await readRunRegistry(repo)).run.id;

    // A merge whose check fails: the run succeeded, the merge did not, and wait says both, with the merge's code.
    const failing = await runOrch(['merge', '--detach', '--check', 'exit 1'], { cwd: repo });
    expect(failing.exitCode).toBe(0);
    expect(failing.stdout.trim()).toBe(runId);
    const failed = await runOrch(['wait'], { cwd: repo });
    expect(failed.stdout.trim().split('\n')).toEqual([
      `run ${runId} succeeded (exit 0): 2 succeeded`,
      `merge of run ${runId} finished (exit 1): 2 check-failed`,
    ]);
    expect(failed.exitCode).toBe(1);

    // Again, with a check that waits at a gate: the background orch owns the merge until it opens.
    const check = `while [ ! -f '${gate}' ]; do sleep 0.05; done`;
    const detached = await runOrch(['merge', runId, '--detach', '--json', '--check', check], { cwd: repo });
    expect(detached.exitCode).toBe(0);
    const background = JSON.parse(detached.stdout) as { runId: string; pid: number; log: string };
    expect(background.runId).toBe(runId);
    expect((await readRunRegistry(repo, runId)).run.merge).toMatchObject({ status: 'running', orchestrator: { pid: background.pid } });
    const early = await runOrch(['wait', runId, '--timeout', '0.3'], { cwd: repo });
    expect(early.exitCode).toBe(124);
    expect(early.stdout).toMatch(new RegExp(`^run ${runId} is still being merged after 0\\.3: `));
    const twice = await runOrch(['merge', runId], { cwd: repo });
    expect(twice.exitCode).toBe(2);
    expect(twice.stderr.trim()).toBe(`orch: run ${runId} is being merged already (orch pid ${background.pid}).`);

    // Its orch killed: wait tells a merge that stopped from one that ended; merge --detach again continues it.
    await waitFor(async () => (await readRunRegistry(repo, runId)).run.merge?.checkProcess, 20_000, 'the check to start');
    process.kill(background.pid, 'SIGKILL');
    const stale = await runOrch(['wait', runId], { cwd: repo });
    expect(stale.exitCode).toBe(1);
    expect(stale.stderr.trim()).toBe(
      `orch: the merge of run ${runId} stopped without finishing: its orch merge (pid ${background.pid}) is gone; \`orch merge ${runId}\` continues it.`,
    );
    expect((await runOrch(['merge', runId, '--detach', '--check', check], { cwd: repo })).exitCode).toBe(0);
    await writeFile(gate, '');
    const done = await runOrch(['wait', runId], { cwd: repo });
    expect(done.stdout.trim().split('\n')).toEqual([
      `run ${runId} succeeded (exit 0): 2 succeeded`,
      `merge of run ${runId} finished (exit 0): 2 merged`,
    ]);
    expect(done.exitCode).toBe(0);
    expect(await git(repo, 'show', `orch/${runId}/integration:b.txt`)).toBe('b.txt');
    // The background merges wrote their output to the run's orch.log.
    expect(await readFile(background.log, 'utf8')).toContain(`orch/${runId}/integration`);
  });

  it('logs renders a transcript for people, and --follow follows a task through a retry to its end', async () => {
    const repo = await tempRepo();
    const state = await agentState();
    const gate = path.join(state, 'first-attempt-may-end');
    await writeFiles(repo, {
      '.gadugi/config.json': JSON.stringify({ retries: { backoff: '200ms' } }),
      'prompts/a.md': `# A\n${agentScript({
        runs: [
          [{ text: 'First, a look around.' }, { waitFor: gate }, { exit: 1, result: 'error', message: 'tests failed' }],
          [{ sh: 'echo second attempt' }, ...finishes('a.txt')],
        ],
      })}`,
    });
    const orch = startOrch(['run', 'prompts/a.md', '--retries', '1'], { cwd: repo, env: fakeAgentEnv(state) });
    await waitFor(async () => (await readRunRegistry(repo)).tasks[0]!.attempts === 1, 20_000, 'the first attempt');
    // Following from the middle of the first attempt, through the retry, to the end.
    const following = startOrch(['logs', 'a', '--follow'], { cwd: repo });
    let seen = '';
    following.stdout.on('data', (chunk: Buffer) => (seen += chunk.toString()));
    await waitFor(() => seen.includes('First, a look around.'), 20_000, 'logs --follow to show the first attempt');
    await writeFile(gate, '');
    expect((await orch).exitCode).toBe(0);
    const followed = await following;
    expect(followed.exitCode).toBe(0);
    const text = String(followed.stdout);
    expect(text).toMatch(
      /── attempt 1 \(fresh\) · logs\/a\.jsonl\n── session [0-9a-f-]{36} · fake-model\n {2}First, a look around\.\n══ ended with an error · 1 turns · \$0\.0010 · [\d.]+m?s\n {3}tests failed\n── attempt 2 \(retry\) · logs\/a@2\.jsonl\n/,
    );
    expect(text).toContain('→ Bash: echo second attempt');
    expect(text).toMatch(/══ finished · 4 turns/);

    const first = await runOrch(['logs', 'a', '--attempt', '1', '--raw'], { cwd: repo });
    expect(
      first.stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => (JSON.parse(line) as { type: string }).type),
    ).toEqual(['system', 'assistant', 'result']);
    const unknown = await runOrch(['logs', 'nope'], { cwd: repo });
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toMatch(/^orch: no task "nope" in run \S+ \(tasks: a\)\./);
  });
});

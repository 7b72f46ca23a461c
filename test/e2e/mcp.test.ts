import { existsSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAlive } from '../../src/process/process-info.js';
import { agentScript, agentStarts, agentState, fakeAgentEnv, finishes, killStrays } from '../support/agents.js';
import { expectOneLine } from '../support/expect.js';
import { git, tempRepo } from '../support/git.js';
import { startMcp, type McpSession } from '../support/mcp.js';
import { runOrch } from '../support/orch.js';
import { readRunRegistry } from '../support/run-state.js';
import { startOrchWithRunningAgent, waitFor } from '../support/spawn.js';
import { writeFiles } from '../support/tmp.js';

interface Status {
  run: { id: string; status: string; liveness: string; merge?: { status: string; exitCode?: number }; [key: string]: unknown };
  tasks: Array<{ id: string; status: string; branch: string; merge?: { status: string }; [key: string]: unknown }>;
  done?: boolean;
}
interface Detached {
  runId: string;
  pid: number;
  log: string;
}

/** A status without what moves with the clock or with a process on its way out (heartbeat ages, the orchestrator's last moments). */
function stable(view: Status): Status {
  const copy = structuredClone(view);
  delete copy.run.heartbeatAgeMs;
  delete copy.run.orchestratorAlive;
  for (const task of copy.tasks) delete task.heartbeatAgeMs;
  return copy;
}

/** Polls `wait` in slices until the run (and any merge of it) is done, as a model would. */
async function waitUntilDone(mcp: McpSession, runId: string): Promise<Status> {
  for (let slice = 0; slice < 20; slice++) {
    const status = await mcp.ok<Status>('wait', { run_id: runId, timeout_seconds: 30 });
    if (status.done) return status;
  }
  throw new Error(`run ${runId} was not done after 20 slices`);
}

const TOOLS = ['add_tasks', 'cancel', 'logs', 'merge', 'plan', 'resume', 'run', 'status', 'wait'];

describe('orch mcp: orch as an MCP server, driven by the SDK client over stdio', () => {
  it('queues tasks, plans, runs, waits in slices, reports, shows logs and lands the work, as the CLI would', async () => {
    const repo = await tempRepo({ 'README.md': '# mcp\n' });
    const state = await agentState();
    const gate = path.join(state, 'gate');
    const mcp = await startMcp(repo, fakeAgentEnv(state));
    expect((await mcp.client.listTools()).tools.map((tool) => tool.name).sort()).toEqual(TOOLS);

    // The queue: tasks stated explicitly, written as prompt files orch reads.
    const alpha = {
      id: 'alpha',
      title: 'Add alpha',
      prompt: `Create alpha.txt.\n${agentScript({ steps: [{ waitFor: gate }, ...finishes('alpha.txt')] })}`,
      files: ['alpha.txt'],
    };
    const beta = {
      id: 'beta',
      title: 'Add beta',
      prompt: `Create beta.txt.\n${agentScript({ steps: finishes('beta.txt') })}`,
      depends_on: ['alpha'],
      files: ['beta.txt'],
    };
    const added = await mcp.ok<{ paths: string[] }>('add_tasks', { tasks: [alpha, beta] });
    expect(added).toEqual({
      dir: 'prompts',
      paths: ['prompts/alpha.md', 'prompts/beta.md'],
      tasks: [
        { id: 'alpha', path: 'prompts/alpha.md', action: 'wrote' },
        { id: 'beta', path: 'prompts/beta.md', action: 'wrote' },
      ],
    });
    expect(await readFile(path.join(repo, 'prompts', 'beta.md'), 'utf8')).toMatch(
      /^---\nid: beta\ntitle: Add beta\ndepends_on:\n {2}- alpha\nfiles:\n {2}- beta\.txt\n---\n# Add beta\n\nCreate beta\.txt\.\n/,
    );
    expect(await mcp.fails('add_tasks', { tasks: [{ ...alpha, title: 'Alpha again' }] })).toBe(
      'task "alpha" exists already (prompts/alpha.md): choose another id, or pass overwrite to replace it.',
    );
    expect(await mcp.ok('add_tasks', { tasks: [alpha], overwrite: true })).toMatchObject({
      tasks: [{ id: 'alpha', path: 'prompts/alpha.md', action: 'overwrote' }],
    });

    // plan: exactly `orch plan --json`.
    const plan = await mcp.ok<{ waves: string[][] }>('plan', { files: added.paths });
    expect(plan).toEqual(JSON.parse((await runOrch(['plan', ...added.paths, '--json'], { cwd: repo })).stdout));
    expect(plan.waves).toEqual([['alpha'], ['beta']]);

    // run: detached, the id at once, with the options given.
    const started = await mcp.ok<Detached>('run', {
      files: ['prompts/*.md'],
      max_parallel: 2,
      timeout: '5m',
      max_cost: 20,
      max_wait: '3h',
    });
    const { runId } = started;
    const registry = await readRunRegistry(repo, runId);
    expect(registry.run).toMatchObject({ status: 'running', detached: true, orchestrator: { pid: started.pid } });
    expect(registry.run.config).toMatchObject({
      maxParallel: 2,
      timeouts: { task: '5m' },
      budget: { maxCostUsd: 20 },
      api: { maxWait: '3h' },
    });
    expect(started.log).toBe(path.join(repo, '.gadugi', 'runs', runId, 'orch.log'));

    // wait, in slices: not done while alpha's agent waits at its gate.
    expect(await mcp.ok('wait', { run_id: runId, timeout_seconds: 0.2 })).toMatchObject({
      done: false,
      run: { id: runId, status: 'running', liveness: 'running' },
    });
    await writeFile(gate, '');
    const done = await waitUntilDone(mcp, runId);
    expect(done.run.status).toBe('succeeded');

    // status: exactly `orch status --json` (the latest run by default); wait: the same plus done.
    const cliStatus = JSON.parse((await runOrch(['status', runId, '--json'], { cwd: repo })).stdout) as Status;
    const status = await mcp.ok<Status>('status');
    expect(stable(status)).toEqual(stable(cliStatus));
    expect(stable(done)).toEqual({ ...stable(cliStatus), done: true });
    expect(status.tasks.map((task) => [task.id, task.status, task.branch])).toEqual([
      ['alpha', 'succeeded', `orch/${runId}/alpha`],
      ['beta', 'succeeded', `orch/${runId}/beta`],
    ]);

    // logs: the last lines of the transcript `orch logs` renders.
    const transcript = (await runOrch(['logs', 'alpha', '--run', runId], { cwd: repo })).stdout.trimEnd().split('\n');
    expect(await mcp.ok('logs', { task: 'alpha', lines: 3 })).toEqual({
      runId,
      task: 'alpha',
      totalLines: transcript.length,
      text: transcript.slice(-3).join('\n'),
    });
    expect(transcript).toContainEqual(expect.stringMatching(/^══ finished · /));

    // merge: detached like run, polled with wait.
    const merging = await mcp.ok<Detached>('merge', { run_id: runId, check: 'test -f alpha.txt' });
    expect(merging.runId).toBe(runId);
    const merged = await waitUntilDone(mcp, runId);
    expect(merged.run.merge).toMatchObject({ status: 'finished', exitCode: 0 });
    expect(merged.tasks.map((task) => [task.id, task.merge?.status])).toEqual([
      ['alpha', 'merged'],
      ['beta', 'merged'],
    ]);
    expect(await git(repo, 'show', `orch/${runId}/integration:beta.txt`)).toBe('beta.txt');

    // Runs as resources: the list, and each run's status.
    expect((await mcp.client.listResources()).resources.map((resource) => resource.uri)).toEqual(['orch://runs', `orch://runs/${runId}`]);
    const runs = (await mcp.client.readResource({ uri: 'orch://runs' })).contents[0] as { text: string; mimeType: string };
    expect(runs.mimeType).toBe('application/json');
    expect(JSON.parse(runs.text)).toEqual(JSON.parse((await runOrch(['status', '--all', '--json'], { cwd: repo })).stdout));
    const one = (await mcp.client.readResource({ uri: `orch://runs/${runId}` })).contents[0] as { text: string };
    expect(stable(JSON.parse(one.text) as Status)).toEqual(stable(await mcp.ok<Status>('status', { run_id: runId })));

    // Nothing but the protocol on stdout; the server's own lines went to stderr.
    expect(mcp.transportErrors).toEqual([]);
    expect(mcp.stderr()).toContain(`orch mcp: serving ${repo}`);
  });

  it('cancel stops a run and a merge, resume finishes the run; bad input to every tool is an error result and the server stays up', async () => {
    const repo = await tempRepo();
    const state = await agentState();
    const gate = path.join(state, 'gate');
    const checkGate = path.join(state, 'check-gate');
    await writeFiles(repo, { 'prompts/a.md': `# A\n${agentScript({ steps: [{ waitFor: gate }, ...finishes('a.txt')] })}` });
    const mcp = await startMcp(repo, fakeAgentEnv(state));

    const { runId } = await mcp.ok<Detached>('run', { files: ['prompts/a.md'] });
    await waitFor(async () => (await agentStarts(state)).length === 1, 20_000, 'the agent to start');
    const running = await waitFor(async () => {
      const current = await readRunRegistry(repo, runId);
      return current.tasks[0]!.agent ? current : undefined;
    });
    const orchestrator = running.run.orchestrator;
    expect(await mcp.fails('merge', { run_id: runId })).toBe(
      `run ${runId} is still running (orch pid ${orchestrator.pid}): wait for it (\`orch wait ${runId}\`) and merge then, or start runs with --merge to integrate tasks as they finish.`,
    );
    expect(await mcp.fails('resume')).toMatch(new RegExp(`^run ${runId} is still running \\(orch pid ${orchestrator.pid} is alive\\)`));

    // cancel: SIGINT to the run's orchestrator, as Ctrl-C; returns once it has stopped.
    const cancelled = await mcp.ok<Status>('cancel', { run_id: runId });
    expect(cancelled.run).toMatchObject({ id: runId, status: 'interrupted', orchestratorAlive: false });
    expect(cancelled.tasks[0]).toMatchObject({ id: 'a', status: 'interrupted', agentAlive: false });
    expect(isAlive(orchestrator)).toBe(false);
    expect(await mcp.fails('cancel', { run_id: runId })).toBe(`run ${runId} has ended (interrupted): there is nothing to cancel.`);

    // resume: detached, polled with wait.
    await writeFile(gate, '');
    const resumed = await mcp.ok<Detached>('resume', { run_id: runId, max_parallel: 1, max_cost: 7.5 });
    expect(resumed.runId).toBe(runId);
    expect((await waitUntilDone(mcp, runId)).tasks[0]).toMatchObject({ status: 'succeeded' });
    expect((await readRunRegistry(repo, runId)).run.sessions).toHaveLength(2);
    expect((await readRunRegistry(repo, runId)).run.config).toMatchObject({ maxParallel: 1, budget: { maxCostUsd: 7.5 } });

    // cancel stops a merge under way too (its check waits at a gate that never opens).
    await mcp.ok('merge', { check: `while [ ! -f '${checkGate}' ]; do sleep 0.05; done` });
    await waitFor(async () => (await readRunRegistry(repo, runId)).run.merge?.checkProcess, 20_000, 'the check to start');
    expect(await mcp.ok('wait', { timeout_seconds: 0.1 })).toMatchObject({ done: false, run: { status: 'succeeded' } });
    const stopped = await mcp.ok<Status>('cancel');
    expect(stopped.run.merge).toMatchObject({ status: 'interrupted', exitCode: 130 });
    expect(await mcp.ok('wait', { timeout_seconds: 0.1 })).toMatchObject({ done: true });

    // Bad input: every tool answers with an error result and orch's one line (or the schema's).
    const task = (id: string) => ({ id, title: id, prompt: `Do ${id}.` });
    const bad: Array<[string, Record<string, unknown>, string | RegExp]> = [
      ['add_tasks', { tasks: [] }, /tasks must hold at least one task/],
      [
        'add_tasks',
        { tasks: [{ id: 'a b', title: 'x', prompt: 'y' }] },
        `task id "a b" is not usable: ids may only hold letters, digits, '.', '_' and '-' (say "a-b").`,
      ],
      [
        'add_tasks',
        { tasks: [{ id: 'x', title: 'x', prompt: 'y' }], dir: '../elsewhere' },
        /^dir "\.\.\/elsewhere" is outside the repository /,
      ],
      ['add_tasks', { tasks: [{ id: 'x', title: 'x', prompt: ' ' }] }, 'task x: the prompt is empty: say what the agent is to do.'],
      [
        'add_tasks',
        { tasks: [{ id: 'integration', title: 'x', prompt: 'y' }] },
        `task id "integration" is reserved (it names the merge queue's branch): choose another.`,
      ],
      ['add_tasks', { tasks: [task('x'), task('x')] }, 'task id "x" is given twice: every task needs its own id.'],
      ['add_tasks', { tasks: [{ ...task('x'), title: 'two\nlines' }] }, 'task x: the title must be one non-empty line.'],
      ['add_tasks', { tasks: [{ ...task('x'), files: [''] }] }, 'task x: `files` holds an empty entry.'],
      [
        'add_tasks',
        { tasks: [task('x')], dir: 'prompts/a.md' },
        'dir "prompts/a.md" is a file, not a directory: choose a folder for the prompt files.',
      ],
      ['plan', { files: 'prompts/a.md' }, /files must be a list of prompt files, globs or directories/],
      ['plan', { files: ['missing.md'] }, `prompt file not found: missing.md (paths are relative to ${repo}).`],
      ['run', { files: ['prompts/a.md'], base: 'nope' }, 'base ref "nope" not found: pass --base with an existing branch, tag or commit.'],
      ['run', { files: ['prompts/a.md'], max_parallel: 0 }, /max_parallel must be a whole number of agents \(1 or more\) or "auto"/],
      ['status', { run_id: '20990101-000000-0000' }, /^no run "20990101-000000-0000" in /],
      ['wait', { run_id: runId, timeout_seconds: -1 }, /timeout_seconds may not be negative/],
      ['wait', { runId }, /Unrecognized key: "runId"/],
      ['logs', { task: 'ghost', run_id: runId }, `no task "ghost" in run ${runId} (tasks: a).`],
      ['merge', { run_id: 'not a run' }, '"not a run" is not a run id: see `orch status --all`.'],
      ['cancel', {}, `run ${runId} has ended (succeeded): there is nothing to cancel.`],
      ['resume', { max_parallel: 'lots' }, /max_parallel must be a whole number/],
      ['run', { files: ['prompts/a.md'], max_cost: -1 }, /max_cost must be a positive amount of US dollars/],
      ['resume', { max_wait: '' }, /max_wait must be a duration/],
      ['orchestrate', {}, /Tool orchestrate not found/],
    ];
    for (const [tool, args, message] of bad) {
      const text = await mcp.fails(tool, args);
      if (typeof message === 'string') expect(text, tool).toBe(message);
      else expect(text, tool).toMatch(message);
    }
    expect(new Set(bad.map(([tool]) => tool))).toEqual(new Set([...TOOLS, 'orchestrate']));
    // Nothing was written by the refused calls, and the server is still up and answering.
    expect(await readdir(path.join(repo, 'prompts'))).toEqual(['a.md']);
    expect(existsSync(path.join(repo, '..', 'elsewhere'))).toBe(false);
    expect((await mcp.ok<Status>('status')).run.id).toBe(runId);
    await expect(mcp.client.readResource({ uri: 'orch://runs/not%20a%20run' })).rejects.toThrow('"not a run" is not a run id');
    expect(mcp.transportErrors).toEqual([]);
  });

  it('does not serve inside an orch agent, whose worktree holds the repository’s .mcp.json', async () => {
    const repo = await tempRepo();
    expectOneLine(
      await runOrch(['mcp'], { cwd: repo, env: { ORCH_RUN_ID: '20990101-000000-0000', ORCH_TASK_ID: 'alpha' } }),
      /^orch: not serving inside an orch agent \(task alpha of run 20990101-000000-0000\): agents do not start runs of their own\.$/,
    );
  });

  it('a run whose orchestrator died: wait is done with the run stale, cancel has nothing to interrupt', async () => {
    const repo = await tempRepo();
    await writeFiles(repo, { 'prompts/a.md': `# A\n${agentScript({ steps: [{ hang: true }] })}` });
    const state = await agentState();
    const { orch, registry } = await startOrchWithRunningAgent(repo, ['run', 'prompts/a.md'], state);
    orch.kill('SIGKILL');
    await orch;
    const mcp = await startMcp(repo);
    const runId = registry.run.id;
    expect(await mcp.ok('wait', { timeout_seconds: 5 })).toMatchObject({
      done: true,
      run: { id: runId, status: 'running', liveness: 'stale' },
    });
    expect(await mcp.fails('cancel')).toBe(
      `run ${runId} has no live orchestrator (pid ${registry.run.orchestrator.pid} is gone): there is nothing to interrupt; \`orch resume ${runId}\` finishes it.`,
    );
    // Its agent was orphaned on purpose; this test stops it.
    expect(await killStrays(state, 100)).toHaveLength(1);
  });
});

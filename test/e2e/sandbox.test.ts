import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { pathExists } from '../../src/util/fs.js';
import { agentScript, agentStarts, agentState, fakeAgentEnv, finishes } from '../support/agents.js';
import { expectOneLine } from '../support/expect.js';
import { git, tempRepo } from '../support/git.js';
import { runOrch } from '../support/orch.js';
import { simulatedPath } from '../support/path.js';
import { readLedger, readRunRegistry } from '../support/run-state.js';
import { startOrchWithRunningAgent, waitFor } from '../support/spawn.js';
import { writeFiles } from '../support/tmp.js';

const OFF_LINE =
  "sandbox: off: bubblewrap (bwrap) and socat are not installed, so agents' commands are not confined to their worktrees; to confine them: apt-get install bubblewrap socat (Debian, Ubuntu) or dnf install bubblewrap socat (Fedora)";

describe('the sandbox setting (scripted fake agent, machines simulated by PATH)', () => {
  it('agent.sandbox true on a machine without bubblewrap: one line, exit 2, nothing written', async () => {
    const repo = await tempRepo();
    await writeFiles(repo, { 'prompts/a.md': '# A\n' });
    const PATH = await simulatedPath({ without: ['bwrap', 'socat'] });
    const result = await runOrch(['run', 'prompts/a.md'], {
      cwd: repo,
      env: fakeAgentEnv(await agentState(), { PATH, ORCH_SANDBOX: 'true' }),
    });
    expectOneLine(
      result,
      /^orch: agent\.sandbox is true but agents cannot be sandboxed on this machine: bubblewrap \(bwrap\) and socat are not installed; install it \(apt-get install bubblewrap socat .*\), or set agent\.sandbox to "auto" or false\.$/,
    );
    expect(await pathExists(path.join(repo, '.gadugi'))).toBe(false);
  });

  it('"auto" without bubblewrap: off, said in one line by run, plan and status', async () => {
    const repo = await tempRepo();
    await writeFiles(repo, { 'prompts/a.md': '# A\n' });
    const PATH = await simulatedPath({ without: ['bwrap'] });
    const env = fakeAgentEnv(await agentState(), { PATH });
    const plan = await runOrch(['plan', 'prompts/a.md'], { cwd: repo, env });
    expect(plan.stdout.split('\n')).toContain(OFF_LINE.replace('bubblewrap (bwrap) and socat are', 'bubblewrap (bwrap) is'));
    const run = await runOrch(['run', 'prompts/a.md'], { cwd: repo, env });
    expect(run.exitCode).toBe(0);
    const line = `! ${OFF_LINE.replace('bubblewrap (bwrap) and socat are', 'bubblewrap (bwrap) is')}`;
    expect(run.stdout.split('\n').filter((text) => text.includes('sandbox:'))).toEqual([
      expect.stringMatching(new RegExp(`^\\d\\d:\\d\\d:\\d\\d ${escape(line)}$`)),
    ]);
    expect((await readLedger(repo)).filter((event) => event.type === 'warning')).toEqual([
      expect.objectContaining({ message: line.slice(2) }),
    ]);
    expect((await readRunRegistry(repo)).run.sandbox).toEqual({ enabled: false, summary: line.slice(2) });
    const status = await runOrch(['status'], { cwd: repo, env });
    expect(status.stdout.split('\n')[3]).toBe(line.slice(2));
    // Its agent got no sandbox settings, but the disallowed git commands all the same.
    const [start] = await agentStarts(env.FAKE_CLAUDE_STATE!);
    expect(start!.args).not.toContain('--settings');
    expect(start!.args).toContain('--disallowedTools');
  });

  it('"auto" with bubblewrap and socat: the agent gets the sandbox settings, and its git ignores the sandbox’s placeholders', async () => {
    const repo = await tempRepo();
    const state = await agentState();
    await writeFiles(repo, {
      'prompts/a.md': `# A\n${agentScript({ steps: [{ sh: `git config --get core.excludesFile > ${path.join(state, 'excludes.txt')}` }] })}`,
      '.gadugi/config.json': JSON.stringify({ agent: { sandboxNetwork: ['registry.npmjs.org'] } }),
    });
    // Stand-ins that pass orch's check: the fake agent does not sandbox anything itself.
    const PATH = await simulatedPath({ scripts: { bwrap: 'exit 0', socat: 'exit 0' } });
    const plan = await runOrch(['plan', 'prompts/a.md', '--json'], { cwd: repo, env: { PATH } });
    expect(JSON.parse(plan.stdout)).toMatchObject({
      sandbox: { enabled: true, summary: 'sandbox: on (bubblewrap): agents write only in their worktrees; network: registry.npmjs.org' },
    });
    const run = await runOrch(['run', 'prompts/a.md'], { cwd: repo, env: fakeAgentEnv(state, { PATH }) });
    expect(run.exitCode).toBe(0);
    expect(run.stdout).not.toContain('sandbox:');

    const registry = await readRunRegistry(repo);
    const runDir = path.join(repo, '.gadugi', 'runs', registry.run.id);
    const [start] = await agentStarts(state);
    const settingsFile = start!.args[start!.args.indexOf('--settings') + 1]!;
    expect(settingsFile).toBe(path.join(runDir, 'prompts', 'a.settings.json'));
    const settings = JSON.parse(await readFile(settingsFile, 'utf8')) as {
      sandbox: Record<string, unknown> & { filesystem: { denyWrite: string[] } };
    };
    expect(settings.sandbox).toMatchObject({
      enabled: true,
      failIfUnavailable: true,
      autoAllowBashIfSandboxed: true,
      allowUnsandboxedCommands: false,
      network: { allowedDomains: ['registry.npmjs.org'] },
    });
    const git = path.join(repo, '.git');
    expect(settings.sandbox.filesystem.denyWrite).toEqual(
      expect.arrayContaining([
        path.join(git, 'HEAD'),
        path.join(git, 'index'),
        path.join(git, 'logs', 'HEAD'),
        path.join(git, 'refs', 'heads', 'main'),
      ]),
    );
    expect(settings.sandbox.filesystem.denyWrite.some((file) => file.endsWith(`/${registry.tasks[0]!.branch.split('/').at(-1)!}`))).toBe(
      false,
    );
    expect((await readFile(path.join(state, 'excludes.txt'), 'utf8')).trim()).toBe(path.join(runDir, 'agent.gitignore'));
    expect(await readFile(path.join(runDir, 'agent.gitignore'), 'utf8')).toContain('\n/.bashrc\n');
    expect(start!.args.slice(start!.args.indexOf('--disallowedTools'), start!.args.indexOf('--allowedTools'))).toContain(
      'Bash(git push:*)',
    );
    // Refs are recorded before the agent starts, for the guard (and for an orch that adopts it).
    expect(await pathExists(path.join(runDir, 'logs', 'a.refs.json'))).toBe(true);

    // Settings of the user's own in agent.extraArgs would replace the sandbox's: refused.
    await writeFiles(repo, { '.gadugi/config.json': JSON.stringify({ agent: { extraArgs: ['--settings', '{}'] } }) });
    expectOneLine(
      await runOrch(['run', 'prompts/a.md'], { cwd: repo, env: fakeAgentEnv(state, { PATH }) }),
      /^orch: agent\.extraArgs passes --settings, which would replace the sandbox settings orch gives claude/,
    );
  });
});

describe('what a sandboxed agent killed mid-command leaves behind', () => {
  it('is removed before anything is committed, and said', async () => {
    const repo = await tempRepo({ 'README.md': '# r\n', '.profile': '' });
    // A project's own empty .profile, tracked, read-only in the worktree like a placeholder: it stays.
    const keep = `chmod 444 .profile`;
    // Like a claude CLI killed with SIGKILL while a sandboxed command ran: placeholders in the
    // worktree and a config lock in the repository, then a hang that ignores SIGTERM.
    const placeholders =
      'touch .bashrc .mcp.json && mkdir -p .claude && touch .claude/settings.json && chmod 444 .bashrc .mcp.json .claude/settings.json';
    const lock = `touch ${path.join(repo, '.git', 'config.lock')} && chmod 444 ${path.join(repo, '.git', 'config.lock')}`;
    await writeFiles(repo, {
      'prompts/killed.md': `# Killed\n${agentScript({ steps: [{ write: 'work.txt', content: 'work\n' }, { sh: `${keep} && ${placeholders} && ${lock}` }, { hang: 'ignore-term' }] })}`,
      '.gadugi/config.json': JSON.stringify({ timeouts: { task: '1s', killGrace: '1s' }, retries: { count: 0 } }),
    });
    const PATH = await simulatedPath({ scripts: { bwrap: 'exit 0', socat: 'exit 0' } });
    const result = await runOrch(['run', 'prompts/killed.md'], { cwd: repo, env: fakeAgentEnv(await agentState(), { PATH }) });
    expect(result.exitCode).toBe(1);
    const [task] = (await readRunRegistry(repo)).tasks;
    expect(task).toMatchObject({ status: 'failed', failure: 'timeout' });
    // The agent's work was saved; the placeholders were not, and are gone; the project's own file stays.
    expect((await git(repo, 'show', '--name-only', '--format=', task!.branch)).split('\n')).toEqual(['work.txt']);
    for (const file of ['.bashrc', '.mcp.json', '.claude/settings.json'])
      expect(await pathExists(path.join(task!.worktree, file))).toBe(false);
    expect(await pathExists(path.join(task!.worktree, '.profile'))).toBe(true);
    expect(await pathExists(path.join(repo, '.git', 'config.lock'))).toBe(false);
    await git(repo, 'config', 'orch.test', 'writable');
    const warnings = (await readLedger(repo)).filter((event) => event.type === 'warning');
    expect(warnings).toEqual([
      expect.objectContaining({
        message: expect.stringMatching(
          /^killed: removed what Claude Code's sandbox left behind when its agent was stopped mid-command: .*\.bashrc, .*config\.lock$/,
        ) as string,
      }),
    ]);
  });
});

describe('what a killed sandboxed agent left, on resume', () => {
  it('is removed before the task runs again, and said', async () => {
    const repo = await tempRepo();
    const state = await agentState();
    const placed = path.join(state, 'placed');
    const lock = path.join(repo, '.git', 'config.lock');
    const place = `touch .bashrc ${lock} && chmod 444 .bashrc ${lock} && touch ${placed}`;
    await writeFiles(repo, { 'prompts/a.md': `# A\n${agentScript({ runs: [[{ sh: place }, { hang: true }], finishes('a.txt')] })}` });
    const PATH = await simulatedPath({ scripts: { bwrap: 'exit 0', socat: 'exit 0' } });
    const { orch, registry } = await startOrchWithRunningAgent(repo, ['run', 'prompts/a.md'], state, { PATH });
    await waitFor(() => pathExists(placed), 20_000, 'the placeholders');
    // orch and its agent both killed outright: nobody cleaned up.
    orch.kill('SIGKILL');
    await orch;
    process.kill(-registry.tasks[0]!.agent!.pid, 'SIGKILL');
    await waitFor(
      async () =>
        (JSON.parse((await runOrch(['status', '--json'], { cwd: repo })).stdout) as { tasks: Array<{ liveness?: string }> }).tasks[0]!
          .liveness === 'dead',
      10_000,
      'the agent to be dead',
    );

    const resumed = await runOrch(['resume'], { cwd: repo, env: fakeAgentEnv(state, { PATH }) });
    expect(resumed.exitCode).toBe(0);
    expect(await pathExists(lock)).toBe(false);
    const task = (await readRunRegistry(repo)).tasks[0]!;
    expect((await git(repo, 'show', '--name-only', '--format=', task.branch)).split('\n')).toEqual(['a.txt']);
    expect((await readLedger(repo)).filter((event) => event.type === 'warning')).toEqual([
      expect.objectContaining({
        message: `removed what a killed agent's sandbox left behind: ${path.join(task.worktree, '.bashrc')}, ${lock}`,
      }),
    ]);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

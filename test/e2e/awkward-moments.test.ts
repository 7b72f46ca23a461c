import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  agentScript,
  agentStarts,
  agentState,
  fakeAgentEnv,
  finishes,
  killStrays,
  processesWithCommandLine,
  processesWithEnv,
} from '../support/agents.js';
import { git, tempRepo } from '../support/git.js';
import { runOrch } from '../support/orch.js';
import { readRunRegistry } from '../support/run-state.js';
import { startOrch, startOrchWithRunningAgent, waitFor } from '../support/spawn.js';
import { tempDir, writeFiles } from '../support/tmp.js';

describe('crashes at awkward moments', () => {
  it('a crash during worktree setup: resume prepares the worktree again before the agent starts', async () => {
    const repo = await tempRepo({ '.gitignore': '.setup-marker\n', 'README.md': '# r\n' });
    const state = await agentState();
    await writeFiles(repo, {
      // The first time, setup hangs (and orch is killed meanwhile); the second time it completes.
      '.gadugi/config.json': JSON.stringify({ worktree: { setup: [`[ -f "${state}/second" ] || sleep 60; echo ran >> .setup-marker`] } }),
      'prompts/a.md': `# A\n${agentScript({ steps: [{ requireFile: '.setup-marker' }, ...finishes('a.txt')] })}`,
    });
    const env = fakeAgentEnv(state);
    const orch = startOrch(['run', 'prompts/a.md'], { cwd: repo, env });
    const logs = await waitFor(
      async () => {
        const registry = await readRunRegistry(repo);
        const log = path.join(repo, '.gadugi', 'runs', registry.run.id, 'logs', 'a.setup.log');
        return (await readFile(log, 'utf8')).includes('sleep 60') ? registry : undefined;
      },
      20_000,
      'setup to start',
    );
    // The log names the command before it starts: wait until its `sleep` runs, so none is left half-started.
    await waitFor(
      async () => {
        const mine = new Set(await processesWithEnv(`FAKE_CLAUDE_STATE=${state}`));
        return (await processesWithCommandLine('sleep 60')).some((pid) => mine.has(pid));
      },
      20_000,
      'the setup command to run',
    );
    orch.kill('SIGKILL');
    await orch;
    expect((await killStrays(state, 0)).length).toBeGreaterThan(0); // the hanging setup command, orphaned
    await writeFile(path.join(state, 'second'), '');

    const resumed = await runOrch(['resume'], { cwd: repo, env });
    expect(resumed.exitCode).toBe(0);
    const task = (await readRunRegistry(repo)).tasks[0]!;
    expect(task).toMatchObject({ status: 'succeeded', worktreeReady: true });
    expect(await readFile(path.join(task.worktree, '.setup-marker'), 'utf8')).toBe('ran\n');
    expect(await agentStarts(state)).toHaveLength(1);
    expect(logs.run.id).toBe((await readRunRegistry(repo)).run.id);
  });

  it('a git lock left in a worktree by killed processes is cleared on resume', async () => {
    const repo = await tempRepo();
    await writeFiles(repo, {
      'prompts/a.md': `# A\n${agentScript({ runs: [[{ write: 'a.txt', content: 'half\n' }, { hang: true }], finishes('a.txt')] })}`,
    });
    const state = await agentState();
    const env = fakeAgentEnv(state);
    const { orch, registry } = await startOrchWithRunningAgent(repo, ['run', 'prompts/a.md'], state);
    orch.kill('SIGKILL');
    await orch;
    process.kill(-registry.tasks[0]!.agent!.pid, 'SIGKILL');
    // As if a git command of the agent's had been killed halfway.
    const gitDir = path.resolve(registry.tasks[0]!.worktree, await git(registry.tasks[0]!.worktree, 'rev-parse', '--git-dir'));
    await writeFile(path.join(gitDir, 'index.lock'), '');

    const resumed = await runOrch(['resume'], { cwd: repo, env });
    expect(resumed.exitCode).toBe(0);
    expect(resumed.stdout).toContain('removed a stale git index.lock');
    expect((await readRunRegistry(repo)).tasks[0]!.status).toBe('succeeded');
  });

  it('orch’s own commits work where the user signs commits and cannot be prompted', async () => {
    const repo = await tempRepo();
    await git(repo, 'config', 'commit.gpgsign', 'true');
    await git(repo, 'config', 'gpg.program', '/bin/false');
    await writeFiles(repo, { 'prompts/a.md': `# A\n${agentScript({ steps: [{ write: 'a.txt', content: 'a\n' }] })}` });
    const result = await runOrch(['run', 'prompts/a.md'], { cwd: repo, env: fakeAgentEnv(await agentState()) });
    expect(result.exitCode).toBe(0);
    const task = (await readRunRegistry(repo)).tasks[0]!;
    expect(task.commits.map((commit) => commit.subject)).toEqual([
      `orch: work left uncommitted by task a (run ${(await readRunRegistry(repo)).run.id})`,
    ]);
  });

  it('a repository without commits gets a clear message', async () => {
    const dir = await tempDir();
    await git(dir, 'init', '-q');
    await writeFiles(dir, { 'prompts/a.md': '# A\n' });
    const result = await runOrch(['run', 'prompts/a.md'], { cwd: dir, env: fakeAgentEnv(await agentState()) });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/^orch: the repository has no commits yet: commit something first/);
  });
});

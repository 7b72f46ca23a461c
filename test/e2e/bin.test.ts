import { execa } from 'execa';
import { access, chmod, constants, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentScript, agentStarts, agentState, fakeAgentEnv, finishes } from '../support/agents.js';
import { tempRepo } from '../support/git.js';
import { shebangNodeFlags } from '../../src/commands/detach.js';
import { orchBin, runOrch } from '../support/orch.js';
import { readRunRegistry } from '../support/run-state.js';
import { waitFor } from '../support/spawn.js';
import { tempDir, writeFiles } from '../support/tmp.js';

/** A process's command line, as /proc has it. */
async function commandLine(pid: number): Promise<string[]> {
  return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter((part) => part !== '');
}

async function environment(pid: number): Promise<string[]> {
  return (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0');
}

/** The V8 flags of bin/orch.js's #! line (test/unit/shebang.test.ts pins the list). */
const memoryFlags = async (): Promise<string[]> => shebangNodeFlags(await readFile(orchBin, 'utf8'));

describe('the installed bin, run the way a shell runs it', () => {
  it('starts through its #! line: node gets the memory flags, the agents do not', async () => {
    // npm links bin/orch.js onto the PATH as it is: the executable bit and the #! line start it.
    await access(orchBin, constants.X_OK);
    const repo = await tempRepo();
    const state = await agentState();
    const gate = path.join(state, 'open-the-gate');
    await writeFiles(repo, { 'prompts/a.md': `# A\n${agentScript({ steps: [{ waitFor: gate }, ...finishes('a.txt')] })}` });
    const orch = execa(orchBin, ['run', 'prompts/a.md'], {
      cwd: repo,
      env: { ...fakeAgentEnv(state), FORCE_COLOR: '0' },
      reject: false,
      stdin: 'ignore',
    });
    try {
      await waitFor(async () => (await agentStarts(state)).length > 0, 20_000, 'the agent to start');
      const registry = await waitFor(async () => {
        const current = await readRunRegistry(repo);
        return current.tasks[0]?.agent ? current : undefined;
      });
      const orchestrator = await commandLine(registry.run.orchestrator.pid);
      const flags = await memoryFlags();
      expect(flags.length).toBeGreaterThan(0);
      expect(orchestrator.slice(1)).toEqual([...flags, orchBin, 'run', 'prompts/a.md']);
      // The agent (a node program too) gets neither the flags nor a NODE_OPTIONS carrying them.
      const agent = registry.tasks[0]!.agent!.pid;
      const agentLine = await commandLine(agent);
      const agentEnvironment = await environment(agent);
      for (const flag of flags) {
        expect(agentLine).not.toContain(flag);
        expect(agentEnvironment.filter((entry) => entry.includes(flag))).toEqual([]);
      }
      await writeFile(gate, '');
      const result = await orch;
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toMatch(/1 succeeded/);
    } finally {
      orch.kill('SIGKILL');
    }
    // Short commands start the same way.
    const version = await execa(orchBin, ['--version'], { cwd: repo, reject: false });
    expect([version.exitCode, version.stdout]).toEqual([
      0,
      JSON.parse(await readFile(path.join(orchBin, '..', '..', 'package.json'), 'utf8')).version,
    ]);
  });

  it('a background orch (--detach) gets the same flags', async () => {
    const repo = await tempRepo();
    const state = await agentState();
    const gate = path.join(state, 'open-the-gate');
    await writeFiles(repo, { 'prompts/a.md': `# A\n${agentScript({ steps: [{ waitFor: gate }, ...finishes('a.txt')] })}` });
    const detached = await runOrch(['run', 'prompts/a.md', '--detach', '--json'], { cwd: repo, env: fakeAgentEnv(state) });
    expect(detached.exitCode).toBe(0);
    const { runId, pid } = JSON.parse(detached.stdout) as { runId: string; pid: number };
    expect((await commandLine(pid)).slice(1, 1 + (await memoryFlags()).length)).toEqual(await memoryFlags());
    await writeFile(gate, '');
    expect((await runOrch(['wait', runId], { cwd: repo })).exitCode).toBe(0);
  });

  it("only the commands that hold a run get the flags; status, plan, clean and --version start node without them (so Node's own code cache stays usable)", async () => {
    const repo = await tempRepo();
    await writeFiles(repo, { 'prompts/a.md': '# A\nDo a.\n' });
    // A `node` first on the PATH that notes its arguments, then is node.
    const bin = await tempDir();
    const seen = path.join(bin, 'seen');
    await writeFile(path.join(bin, 'node'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${seen}'\nexec '${process.execPath}' "$@"\n`);
    await chmod(path.join(bin, 'node'), 0o755);
    const env = { PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}`, FORCE_COLOR: '0' };
    const status = await execa(orchBin, ['status'], { cwd: repo, env, reject: false });
    // A repository with no run yet: status's own answer, the same as through node directly.
    expect([status.exitCode, status.stderr]).toEqual([
      2,
      'orch: no orch runs in this repository yet: start one with `orch run prompts/*.md`.',
    ]);
    const plan = await execa(orchBin, ['plan', 'prompts'], { cwd: repo, env, reject: false });
    expect(plan.exitCode).toBe(0);
    expect(plan.stdout).toContain('prompts/a.md');
    const version = await execa(orchBin, ['--version'], { cwd: repo, env, reject: false });
    expect(version.exitCode).toBe(0);
    const clean = await execa(orchBin, ['clean'], { cwd: repo, env, reject: false });
    expect([clean.exitCode, clean.stdout]).toEqual([0, 'nothing to clean']);
    const run = await execa(orchBin, ['run', 'prompts/missing.md'], { cwd: repo, env, reject: false });
    expect(run.exitCode).toBe(2);
    const flags = (await memoryFlags()).join(' ');
    expect((await readFile(seen, 'utf8')).split('\n')).toEqual([
      `${orchBin} status`,
      `${orchBin} plan prompts`,
      `${orchBin} --version`,
      `${orchBin} clean`,
      `${flags} ${orchBin} run prompts/missing.md`,
      '',
    ]);
  });
  it('without node on the PATH, says so (the troubleshooting row in the README)', async () => {
    const empty = await tempDir();
    const result = await execa(orchBin, ['status'], { cwd: empty, env: { PATH: empty }, extendEnv: false, reject: false });
    expect(result.exitCode).toBe(127);
    expect(result.stderr).toMatch(/exec: node: not found$/);
  });

  it('status and plan answer the same with and without their code cache, which lives in $XDG_CACHE_HOME/orch/code', async () => {
    const repo = await tempRepo();
    const state = await agentState();
    await writeFiles(repo, {
      'prompts/a.md': `# A\n${agentScript({ steps: finishes('a.txt') })}`,
      'prompts/b.md': `# B\n${agentScript({ steps: finishes('b.txt') })}`,
    });
    const cacheHome = await tempDir();
    const env = { ...fakeAgentEnv(state), FORCE_COLOR: '0', XDG_CACHE_HOME: cacheHome };
    expect((await runOrch(['run', 'prompts'], { cwd: repo, env })).exitCode).toBe(0);
    const start = (args: string[]) => execa(orchBin, args, { cwd: repo, env, reject: false, stdin: 'ignore' });
    const answers = [];
    for (let round = 0; round < 3; round++) {
      const status = await start(['status', '--json']);
      const plan = await start(['plan', 'prompts']);
      const error = await start(['plan', 'missing.md']);
      expect([status.exitCode, plan.exitCode, error.exitCode]).toEqual([0, 0, 2]);
      // The one field that moves between two starts: how long ago the run's last heartbeat was.
      const shown = JSON.parse(status.stdout) as { run: { heartbeatAgeMs?: number } };
      delete shown.run.heartbeatAgeMs;
      answers.push([shown, plan.stdout, error.stderr, status.stderr, plan.stderr]);
    }
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[2]).toEqual(answers[0]);
    expect(answers[0]?.[2]).toMatch(/^orch: prompt file not found: missing\.md/);
    const cached = await readdir(path.join(cacheHome, 'orch', 'code'));
    expect(cached.map((name) => name.split('-')[0]).sort()).toEqual(['plan', 'status']);
  });
});

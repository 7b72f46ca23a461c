import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentScript, agentState, fakeAgentEnv, finishes } from '../support/agents.js';
import { expectOneLine } from '../support/expect.js';
import { tempRepo } from '../support/git.js';
import { tinyDisk } from '../support/mounts.js';
import { runOrch } from '../support/orch.js';
import { readRunRegistry } from '../support/run-state.js';
import { startOrchWithRunningAgent } from '../support/spawn.js';
import { tempDir, writeFiles } from '../support/tmp.js';

/** A repository with one finished run of one task `a`. */
async function repoWithRun() {
  const repo = await tempRepo();
  await writeFiles(repo, { 'prompts/a.md': '# A\n' });
  const state = await agentState();
  expect((await runOrch(['run', 'prompts/a.md'], { cwd: repo, env: fakeAgentEnv(state) })).exitCode).toBe(0);
  return { repo, state, runId: (await readRunRegistry(repo)).run.id };
}

describe('every message a user can meet: one line, what is wrong, what to do', () => {
  it('config files that cannot be used', async () => {
    const repo = await tempRepo();
    await writeFiles(repo, { 'prompts/a.md': '# A\n' });
    const env = fakeAgentEnv(await agentState());
    const run = () => runOrch(['run', 'prompts/a.md'], { cwd: repo, env });

    await mkdir(path.join(repo, '.gadugi', 'config.json'), { recursive: true });
    expectOneLine(await run(), /^orch: cannot read \.gadugi\/config\.json: EISDIR\.$/);
    await rm(path.join(repo, '.gadugi', 'config.json'), { recursive: true });

    await writeFiles(repo, { '.gadugi/config.json': '["not", "settings"]' });
    expectOneLine(
      await run(),
      /^orch: \.gadugi\/config\.json: must hold a JSON object of settings; see `orch init` for a documented example\.$/,
    );
    await writeFiles(repo, { '.gadugi/config.json': '{\n  "retries": {\n    "count": 1,,\n  }\n}' });
    expectOneLine(
      await run(),
      /^orch: \.gadugi\/config\.json:3: invalid JSON \(PropertyNameExpected\); fix the file or delete it to use the defaults\.$/,
    );
    await writeFiles(repo, { '.gadugi/config.json': '{ "retries": { "times": 3 } }' });
    expectOneLine(await run(), /^orch: invalid config in \.gadugi\/config\.json: unknown key "retries\.times"; remove it/);
    await writeFiles(repo, { '.gadugi/config.json': '{}' });
    expectOneLine(
      await runOrch(['run', 'prompts/a.md'], { cwd: repo, env: { ...env, ORCH_MAX_PARALLEL: 'lots' } }),
      /^orch: invalid config value for "maxParallel" \(from environment variable ORCH_MAX_PARALLEL\): .*; fix environment variable ORCH_MAX_PARALLEL\.$/,
    );
    expect(await readdir(path.join(repo, '.gadugi'))).toEqual(['config.json']);
  });

  it('a resource samples file that cannot be used (ORCH_SAMPLER_FILE)', async () => {
    const repo = await tempRepo();
    const dir = await tempDir();
    await writeFiles(repo, { 'prompts/a.md': '# A\n' });
    await writeFiles(dir, { 'bad.json': '{"cores": "eight"}', 'odd.json': '{"cpus": 8}' });
    const run = (file: string) =>
      runOrch(['run', 'prompts/a.md'], { cwd: repo, env: fakeAgentEnv(dir, { ORCH_SAMPLER_FILE: path.join(dir, file) }) });
    expectOneLine(
      await run('missing.json'),
      /^orch: cannot read resource samples from ORCH_SAMPLER_FILE=\S+missing\.json: ENOENT.*; fix the file or unset ORCH_SAMPLER_FILE\.$/,
    );
    expectOneLine(
      await run('bad.json'),
      /^orch: cannot read resource samples from ORCH_SAMPLER_FILE=\S+: "cores" must be a number of at least 0; fix the file/,
    );
    expectOneLine(
      await run('odd.json'),
      /^orch: cannot read resource samples from ORCH_SAMPLER_FILE=\S+: unknown key "cpus" \(known: cores, availableMemMb, loadPerCore\)/,
    );
    expect(await readdir(repo)).not.toContain('.gadugi');
  });

  it('flag values that are not what they should be', async () => {
    const { repo, runId } = await repoWithRun();
    expectOneLine(
      await runOrch(['run', 'prompts/a.md', '--run-id', '../../etc'], { cwd: repo }),
      /^orch: --run-id "\.\.\/\.\.\/etc" is not a run id orch made\.$/,
    );
    expectOneLine(
      await runOrch(['wait', '--timeout', 'soon'], { cwd: repo }),
      /^orch: --timeout "soon" is not a duration: use seconds \(300\) or a duration such as 5m\.$/,
    );
    expectOneLine(await runOrch(['logs', 'a', '--attempt', 'last'], { cwd: repo }), /^orch: --attempt "last" is not a number\.$/);
    expectOneLine(
      await runOrch(['logs', 'a', '--attempt', '3'], { cwd: repo }),
      /^orch: task a has 1 attempt; --attempt must be between 1 and 1\.$/,
    );
    expectOneLine(await runOrch(['logs', 'zzz'], { cwd: repo }), new RegExp(`^orch: no task "zzz" in run ${runId} \\(tasks: a\\)\\.$`));
    const unknownOption = await runOrch(['run', 'prompts/a.md', '--parallel', '3'], { cwd: repo });
    expect(unknownOption.exitCode).toBe(2);
    expect(unknownOption.stderr).toMatch(/^error: unknown option '--parallel'/);
  });

  it('runs that do not exist, or cannot be read', async () => {
    const empty = await tempRepo();
    expectOneLine(
      await runOrch(['status'], { cwd: empty }),
      /^orch: no orch runs in this repository yet: start one with `orch run prompts\/\*\.md`\.$/,
    );
    const { repo, runId } = await repoWithRun();
    for (const command of [
      ['status', '20990101-000000-0000'],
      ['wait', '20990101-000000-0000'],
      ['resume', '20990101-000000-0000'],
      ['logs', 'a', '--run', '20990101-000000-0000'],
    ]) {
      expectOneLine(await runOrch(command, { cwd: repo }), /^orch: no run "20990101-000000-0000" in \S+: see `orch status --all`\.$/);
    }
    expectOneLine(await runOrch(['status', '../..'], { cwd: repo }), /^orch: "\.\.\/\.\." is not a run id: see `orch status --all`\.$/);

    // A folder without its registry (not one orch made): listed as such, never fatal to the listing.
    await mkdir(path.join(repo, '.gadugi', 'runs', '20200101-000000-0000'), { recursive: true });
    const all = await runOrch(['status', '--all'], { cwd: repo });
    expect(all.exitCode).toBe(0);
    expect(all.stdout).toContain(runId);
    expect(all.stdout).toMatch(
      /20200101-000000-0000: no registry at \S+registry\.json: the run folder is incomplete; remove it or pick another run/,
    );

    // A registry that cannot be read at all (a folder in its place).
    const registryFile = path.join(repo, '.gadugi', 'runs', runId, 'registry.json');
    await rm(registryFile);
    await mkdir(registryFile);
    expectOneLine(
      await runOrch(['status', runId], { cwd: repo }),
      new RegExp(`^orch: cannot read the registry \\S+registry\\.json: EISDIR\\.$`),
    );
  });

  it('a detached run whose background process fails before the run exists: its error, in the foreground', async (context) => {
    const repo = await tempRepo();
    // Room for the write check, not for the run: the background process fails to create it.
    const runs = await tinyDisk(path.join(repo, '.gadugi', 'runs'), '32k', context);
    await writeFiles(repo, { 'prompts/big.md': `# Big\n${'A long task description. '.repeat(3000)}\n` });
    const result = await runOrch(['run', 'prompts/big.md', '--detach'], { cwd: repo, env: fakeAgentEnv(await agentState()) });
    expectOneLine(result, /^orch: cannot create the run folder \S+: the disk is full \(ENOSPC\); free some space/);
    expect(result.stdout).toBe('');
    expect(await readdir(runs)).toEqual([]);
  });

  it('a run whose lock is taken from it stops, with the reason', async () => {
    const repo = await tempRepo();
    await writeFiles(repo, { 'prompts/a.md': `# A\n${agentScript({ steps: [{ hang: true }] })}` });
    const state = await agentState();
    const { orch, registry } = await startOrchWithRunningAgent(repo, ['run', 'prompts/a.md'], state);
    // Another process removes the lock (as a careless `rm -rf` would): the run no longer has one writer.
    await rm(path.join(repo, '.gadugi', 'runs', registry.run.id, 'run.lock'), { recursive: true, force: true });
    const result = await orch;
    expectOneLine({ exitCode: result.exitCode ?? -1, stderr: String(result.stderr) }, /^orch: lost the run lock: /);
    expect((await readRunRegistry(repo)).tasks[0]!.status).toBe('interrupted');
  });

  it('resume without a run to resume; resume of a run that has finished', async () => {
    const repo = await tempRepo();
    expectOneLine(await runOrch(['resume'], { cwd: repo }), /^orch: no orch runs in this repository yet/);
    await writeFiles(repo, { 'prompts/a.md': `# A\n${agentScript({ steps: finishes('a.txt') })}` });
    const state = await agentState();
    expect((await runOrch(['run', 'prompts/a.md'], { cwd: repo, env: fakeAgentEnv(state) })).exitCode).toBe(0);
    // A finished run: nothing to do, and resume says so by finishing at once with the run's result.
    const again = await runOrch(['resume', '--json'], { cwd: repo, env: fakeAgentEnv(state) });
    expect(again.exitCode).toBe(0);
  });
});

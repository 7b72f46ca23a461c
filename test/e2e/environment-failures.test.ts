import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentScript, agentStarts, agentState, fakeAgentEnv, finishes } from '../support/agents.js';
import { expectOneLine } from '../support/expect.js';
import { tempRepo } from '../support/git.js';
import { readOnly } from '../support/mounts.js';
import { readLedger, readRunRegistry } from '../support/run-state.js';
import { startOrch, waitFor } from '../support/spawn.js';
import { tempDir, writeFiles } from '../support/tmp.js';

/**
 * A run whose first task waits at a gate, so the test can break the run folder while it runs;
 * the second task depends on the first.
 */
async function gatedRun() {
  const repo = await tempRepo();
  const gate = path.join(await tempDir('orch-gate-'), 'open');
  await writeFiles(repo, {
    'prompts/a.md': `# A\n${agentScript({ steps: [{ waitFor: gate }, ...finishes('a.txt')] })}`,
    'prompts/b.md': `# B\nThis depends on a.\n${agentScript({ steps: finishes('b.txt') })}`,
  });
  const state = await agentState();
  const orch = startOrch(['run', 'prompts/a.md', 'prompts/b.md'], { cwd: repo, env: fakeAgentEnv(state) });
  await waitFor(async () => (await agentStarts(state)).length === 1, 20_000, 'the first agent to start');
  const registry = await waitFor(async () => {
    const current = await readRunRegistry(repo);
    return current.tasks[0]!.agent ? current : undefined;
  });
  const runDir = path.join(repo, '.gadugi', 'runs', registry.run.id);
  return { repo, runDir, orch, state, openGate: () => writeFile(gate, '') };
}

describe('the environment failing in the middle of a run: one line, exit 2, the registry consistent', () => {
  it('a prompt file that cannot be written', async (context) => {
    const { repo, runDir, orch, state, openGate } = await gatedRun();
    readOnly(path.join(runDir, 'prompts'), context);
    await openGate();
    const result = await orch;
    expectOneLine(
      { exitCode: result.exitCode ?? -1, stderr: String(result.stderr) },
      /^orch: cannot write the prompt file \S+b\.md: the filesystem is read-only \(EROFS\); free some space or fix the permissions, then `orch resume`\.$/,
    );
    const registry = await readRunRegistry(repo);
    expect(registry.run).toMatchObject({ status: 'aborted', exitCode: 2 });
    // b never started and is not left `running`: resume starts it again.
    expect(registry.tasks.map((task) => [task.id, task.status])).toEqual([
      ['a', 'succeeded'],
      ['b', 'interrupted'],
    ]);
    expect(registry.tasks[1]!.reason).toMatch(/^the attempt could not run: cannot write the prompt file/);
    expect((await agentStarts(state)).map((start) => start.taskId)).toEqual(['a']);
    expect((await readLedger(repo)).at(-1)).toMatchObject({ type: 'run-finished', status: 'aborted', exitCode: 2 });
  });

  it('a ledger that cannot be appended to', async (context) => {
    const { repo, runDir, orch, state, openGate } = await gatedRun();
    const ledgerBefore = await readLedger(repo);
    readOnly(path.join(runDir, 'events.ndjson'), context);
    await openGate();
    const result = await orch;
    expectOneLine(
      { exitCode: result.exitCode ?? -1, stderr: String(result.stderr) },
      /^orch: cannot append to the ledger \S+events\.ndjson: the filesystem is read-only \(EROFS\); free some space or fix the permissions, then `orch resume`\.$/,
    );
    const registry = await readRunRegistry(repo);
    expect(registry.run).toMatchObject({ status: 'aborted', exitCode: 2 });
    expect(registry.tasks.map((task) => task.status)).toEqual(['succeeded', 'pending']);
    expect(await readLedger(repo)).toEqual(ledgerBefore);
    expect((await agentStarts(state)).map((start) => start.taskId)).toEqual(['a']);
  });
});

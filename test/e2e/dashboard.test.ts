import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentScript, agentState, fakeAgentEnv, finishes, roomyMachine } from '../support/agents.js';
import { tempRepo } from '../support/git.js';
import { onlyRunId, readRunRegistry } from '../support/run-state.js';
import { waitFor } from '../support/spawn.js';
import { orchInTerminal, type Terminal } from '../support/terminal.js';
import { writeFiles } from '../support/tmp.js';

/** The screen once `check` holds for it. */
function screenWhere(terminal: Terminal, check: (text: string) => boolean, what: string): Promise<string[]> {
  return waitFor(
    async () => {
      const screen = await terminal.screen();
      return check(screen.join('\n')) ? screen : undefined;
    },
    30_000,
    what,
  );
}

describe('the live dashboard, in a real terminal (tmux)', () => {
  it('orch run at 60 columns and orch status --watch at 200 show progress and why each task waits, redrawn in place', async () => {
    const state = await agentState();
    const gate = path.join(state, 'gate');
    const waits = (file: string): string => agentScript({ steps: [{ waitFor: gate }, ...finishes(file)] });
    const repo = await tempRepo({ 'src/shared.js': 'x\n' });
    await writeFiles(repo, {
      'prompts/alpha.md': `---\nfiles: [src/shared.js]\n---\n# Alpha\n${waits('alpha.txt')}`,
      'prompts/beta.md': `---\ndepends_on: [alpha]\n---\n# Beta\n${agentScript({ steps: finishes('beta.txt') })}`,
      'prompts/gamma.md': `---\nfiles: [src/shared.js]\n---\n# Gamma\n${agentScript({ steps: finishes('gamma.txt') })}`,
      'prompts/delta.md': `# Delta\n${waits('delta.txt')}`,
      'prompts/epsilon-with-a-long-name-to-cut.md': `# Epsilon\n${agentScript({ steps: finishes('epsilon.txt') })}`,
    });
    const env = fakeAgentEnv(state, { ORCH_SAMPLER_FILE: await roomyMachine(state) });
    const run = await orchInTerminal(['run', 'prompts/*.md', '--max-parallel', '2', '--max-cost', '5'], {
      cwd: repo,
      env,
      columns: 60,
      rows: 30,
    });
    const narrow = await screenWhere(run, (text) => text.includes('limit 2 reached'), 'the dashboard with a task held by the limit');
    const runId = await onlyRunId(repo);
    const watch = await orchInTerminal(['status', '--watch'], { cwd: repo, env, columns: 200, rows: 30 });
    const wide = await screenWhere(watch, (text) => text.includes('limit 2 reached'), 'the status dashboard');

    for (const [screen, columns] of [
      [narrow, 60],
      [wide, 200],
    ] as const) {
      const text = screen.join('\n');
      expect(text).toContain(`run ${runId} running`);
      expect(text).toMatch(/0\/5 done [█░]+ 0%/);
      expect(text).toMatch(/2 running · limit 2 \(max-parallel\)/);
      expect(text).toMatch(/\$0\.0000 of \$5\.00/);
      expect(text).toMatch(/▶ alpha +\S+ +\d+ turns/);
      expect(text).toMatch(/· beta +waits for alpha/);
      expect(text).toMatch(/· gamma +conflicts with alpha \(src\/shared\.js\)/);
      expect(text).toMatch(
        columns === 60 ? /· epsilon-with-a-\S*… +limit 2 reached/ : /· epsilon-with-a-long-name-to-cut +limit 2 reached/,
      );
      // Nothing wraps: every line fits, and each task has exactly one line.
      for (const line of screen) expect(line.length).toBeLessThanOrEqual(columns);
      for (const id of ['alpha', 'beta', 'gamma', 'delta'])
        expect(screen.filter((line) => new RegExp(`^[▶·] ${id} `).test(line))).toHaveLength(1);
    }
    // Redrawn in place: the run's header was never left behind in the scrollback.
    expect((await run.history()).filter((line) => line.startsWith(`run ${runId} `))).toHaveLength(1);

    await writeFile(gate, '');
    const end = await screenWhere(run, (text) => text.includes('[orch exited 0]'), 'the run to end');
    const summary = end.join('\n');
    expect(summary).toContain('run succeeded (exit 0)');
    expect(summary).toMatch(/alpha +succeeded/);
    expect(summary).toContain('5 succeeded');
    // status --watch ends with the run, and prints the full status once.
    const after = await screenWhere(watch, (text) => text.includes('[orch exited 0]'), 'status --watch to end');
    expect(after.join('\n')).toMatch(/run \S+ · succeeded/);
    expect((await readRunRegistry(repo)).run.status).toBe('succeeded');
  });
});

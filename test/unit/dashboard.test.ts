import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import { estimateRemainingMs } from '../../src/engine/estimate.js';
import { renderDashboard } from '../../src/render/dashboard.js';
import { T0, at, ranTask, registryOf } from '../support/registry.js';
import { taskRecord } from '../support/records.js';

const plain = (text: string): string[] => stripVTControlCharacters(text).split('\n');

describe('estimateRemainingMs', () => {
  it('needs a finished task; then takes the longer of the critical path and the work over the limit', () => {
    const pending = (id: string, dependsOn: string[] = []) => taskRecord({ id, status: 'pending', attempts: 0, dependsOn });
    expect(estimateRemainingMs(registryOf([ranTask('a', 'running', 0), pending('b')]), T0 + 10_000)).toBeUndefined();
    // a took 60 s. b has run 20 s of it; c then d depend on b (a chain of three): 40 + 60 + 60.
    const chain = registryOf([ranTask('a', 'succeeded', 0, 60), ranTask('b', 'running', 60), pending('c', ['b']), pending('d', ['c'])]);
    expect(estimateRemainingMs(chain, T0 + 80_000)).toBe(160_000);
    // Four independent tasks at a limit of 2: 4 × 60 s of work over 2 agents.
    const wide = registryOf([ranTask('a', 'succeeded', 0, 60), pending('b'), pending('c'), pending('d'), pending('e')]);
    expect(estimateRemainingMs(wide, T0 + 60_000)).toBe(120_000);
    // A task behind a failure will be skipped: nothing left to run. A usage pause adds its wait.
    const skipped = registryOf([ranTask('a', 'succeeded', 0, 60), ranTask('b', 'failed', 0, 5), pending('c', ['b'])], {
      usageLimit: { pausedUntil: at(100) },
    });
    expect(estimateRemainingMs(skipped, T0 + 60_000)).toBe(40_000);
    expect(estimateRemainingMs(registryOf([ranTask('a', 'succeeded', 0, 60), pending('b')], { status: 'paused' }), T0)).toBeUndefined();
  });
});

describe('renderDashboard', () => {
  const tasks = [
    ranTask('parse-number', 'succeeded', 0, 130, {
      commits: [
        { sha: 'a', subject: 's' },
        { sha: 'b', subject: 's' },
      ],
      costUsd: 0.3,
    }),
    ranTask('add-clamp', 'running', 100, undefined, { turns: 14, lastActivity: 'Bash: npm test -- --run test/math.test.js' }),
    ranTask('flaky', 'failed', 0, 40, { reason: 'API 500: overloaded' }),
    taskRecord({ id: 'doc-math', status: 'pending', attempts: 0, waiting: { kind: 'dependency', on: ['add-clamp'] } }),
    taskRecord({
      id: 'fix-date',
      status: 'pending',
      attempts: 0,
      waiting: { kind: 'conflict', with: 'add-clamp', files: ['src/math.js'] },
    }),
    ...Array.from({ length: 6 }, (_, index) =>
      taskRecord({ id: `more-${index}`, status: 'pending', attempts: 0, waiting: { kind: 'limit', limit: 2, reason: 'cores' } }),
    ),
  ];
  const registry = registryOf(tasks, { config: { budget: { maxCostUsd: 5 } }, limit: { value: 2, reason: 'cores' } });

  it('shows progress, failures, the limit, cost against the budget, time, and one line per task', () => {
    const lines = plain(renderDashboard(registry, { now: T0 + 192_000, columns: 120, rows: 0 }));
    expect(lines[0]).toBe('run 20260101-000000-abcd running');
    expect(lines[1]).toMatch(/^2\/11 done █+░+ 18%$/);
    expect(lines[2]).toBe('1 failed · 1 running · limit 2 (cores) · $0.3000 of $5.00 · 3m12s elapsed · ~8m59s left');
    expect(lines.slice(4, 9)).toEqual([
      expect.stringMatching(/^▶ add-clamp +1m32s {2}14 turns {2}— {2}Bash: npm test/),
      expect.stringMatching(/^✗ flaky +failed: API 500: overloaded$/),
      expect.stringMatching(/^· doc-math +waits for add-clamp$/),
      expect.stringMatching(/^· fix-date +conflicts with add-clamp \(src\/math\.js\)$/),
      expect.stringMatching(/^· more-0 +limit 2 reached$/),
    ]);
    expect(lines.at(-1)).toMatch(/^✓ parse-number +2m10s {2}2 commits {2}\$0\.3000$/);
  });

  it('fits the terminal: no line wider than it, running and failed first, the rest counted', () => {
    for (const columns of [40, 60, 200]) {
      const lines = plain(renderDashboard(registry, { now: T0 + 192_000, columns, rows: 12 }));
      expect(lines.length).toBeLessThanOrEqual(11);
      for (const line of lines) expect(line.length).toBeLessThan(columns);
      expect(lines.find((line) => line.startsWith('▶ add-clamp'))).toBeDefined();
      expect(lines.find((line) => line.startsWith('✗ flaky'))).toBeDefined();
      expect(lines.at(-1)).toMatch(/^… \d+ more: (\d+ pending, )?1 succeeded$/);
    }
  });

  it('says why nothing starts: a usage-limit pause, a halted run', () => {
    const paused = registryOf([taskRecord({ id: 'a', status: 'pending', attempts: 0 })], {
      usageLimit: { pausedUntil: at(3600), limitType: 'five_hour' },
    });
    expect(plain(renderDashboard(paused, { now: T0, columns: 80, rows: 0 }))).toContainEqual(
      expect.stringMatching(/^usage limit \(five_hour\): resumes at \d\d:\d\d$/),
    );
    const halted = registryOf([], { halted: { kind: 'budget', message: 'the budget of $5.00 is reached' } });
    expect(plain(renderDashboard(halted, { now: T0, columns: 80, rows: 0 }))).toContain('the budget of $5.00 is reached');
  });
});

describe('renderStatus: account limits', () => {
  it('shows a usage-limit pause or cap and the budget under the counts, and why a pending task waits', async () => {
    const { renderStatus } = await import('../../src/render/status.js');
    const { viewOf } = await import('../../src/commands/status.js');
    const now = Date.now();
    const registry = registryOf(
      [
        ranTask('a', 'succeeded', 0, 10, { costUsd: 0.25 }),
        taskRecord({
          id: 'b',
          status: 'pending',
          attempts: 0,
          waiting: { kind: 'usage-limit', until: new Date(now + 3_600_000).toISOString(), stopped: false },
        }),
      ],
      {
        config: { budget: { maxCostUsd: 2 } },
        usageLimit: {
          pausedUntil: new Date(now + 3_600_000).toISOString(),
          limitType: 'five_hour',
          cap: 1,
          capUntil: new Date(now + 7_200_000).toISOString(),
        },
      },
    );
    const text = stripVTControlCharacters(renderStatus(viewOf(registry, { isAlive: () => true, now, staleAfterMs: 30_000 })));
    // Times an hour or two from the real clock: after 22:00 they fall on the next day, which is said.
    const time = String.raw`(?:[A-Z][a-z]{2} \d{1,2} )?\d\d:\d\d`;
    expect(text).toMatch(
      new RegExp(
        String.raw`usage limit \(five_hour\): resumes at ${time} · usage limit close: at most 1 agent until ${time} · budget \$0\.2500 of \$2\.00`,
      ),
    );
    expect(text).toMatch(new RegExp(String.raw`b +pending .*usage limit: resumes at ${time}`));
  });
});

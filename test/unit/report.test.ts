import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { OrchEvent, StampedEvent } from '../../src/events.js';
import { buildReport } from '../../src/render/report-model.js';
import { renderReportHtml } from '../../src/render/report-html.js';
import { renderReportText } from '../../src/render/report-text.js';
import { T0, at, ranTask, registryOf } from '../support/registry.js';
import { taskRecord } from '../support/records.js';

const stamp = (seconds: number, event: OrchEvent, seq = 0): StampedEvent => ({ ...event, seq, at: at(seconds) });

describe('buildReport: a run’s timeline from its registry and ledger', () => {
  const registry = registryOf(
    [
      ranTask('a', 'succeeded', 1, 40, { costUsd: 0.4, commits: [{ sha: 's', subject: 's' }], merge: { status: 'merged' } }),
      taskRecord({ id: 'b', title: 'B <b>', status: 'pending', attempts: 0, dependsOn: ['a'], reason: 'budget' }),
    ],
    {
      status: 'paused',
      exitCode: 75,
      reason: 'the budget of $0.40 is reached',
      finishedAt: at(100),
      // Killed at 50 (last heartbeat), resumed at 70.
      sessions: [
        { pid: 1, startedAt: at(0), lastAliveAt: at(50) },
        { pid: 2, startedAt: at(70), finishedAt: at(100) },
      ],
      conflicts: [{ a: 'a', b: 'b', files: ['src/x.js'] }],
      config: { budget: { maxCostUsd: 0.4 } },
    },
  );
  const ledger: StampedEvent[] = [
    stamp(0, { type: 'limit', limit: 2, reason: 'cores', running: 0 }),
    stamp(1, { type: 'waiting', changes: [{ taskId: 'b', waiting: { kind: 'dependency', on: ['a'] } }] }),
    stamp(5, { type: 'api-pressure', status: 429, pausedForMs: 10_000, pausedUntil: at(15), level: 1 }),
    stamp(20, { type: 'usage-limit', status: 'rejected', resetsAt: at(30), limitType: 'five_hour', action: 'pause' }),
    stamp(31, { type: 'usage-limit', status: 'allowed_warning', resetsAt: at(3600), action: 'cap', limit: 1 }),
    stamp(35, { type: 'mode', mode: 'sequential', reason: '3 tasks failed in a row' }),
    stamp(40, { type: 'budget', costUsd: 0.4, maxCostUsd: 0.4 }),
    stamp(41, { type: 'waiting', changes: [{ taskId: 'b', waiting: { kind: 'budget', maxCostUsd: 0.4, costUsd: 0.4 } }] }),
    stamp(45, { type: 'usage-limit', status: 'rejected', resetsAt: at(99_999), action: 'stop' }),
    stamp(80, { type: 'merge-started', branch: 'orch/r/integration', head: 'abc', resumed: false }),
    stamp(90, { type: 'merge-check', taskIds: ['a'], passed: true, exitCode: 0, timedOut: false, durationMs: 100, log: 'x' }),
    stamp(95, { type: 'stopping', reason: 'interrupt', running: 0 }),
  ];
  const model = buildReport(registry, ledger, T0 + 500_000);

  it('keeps every attempt, wait, pause, limit, session and mark, within the run’s bounds', () => {
    expect(model).toMatchObject({ start: T0, end: T0 + 100_000 });
    expect(model.tasks[0]!.attempts).toEqual([
      expect.objectContaining({ number: 1, start: T0 + 1000, end: T0 + 40_000, outcome: 'succeeded' }),
    ]);
    expect(model.tasks[1]!.waits).toEqual([
      { start: T0 + 1000, end: T0 + 41_000, reason: { kind: 'dependency', on: ['a'] } },
      { start: T0 + 41_000, end: T0 + 95_000, reason: { kind: 'budget', maxCostUsd: 0.4, costUsd: 0.4 } },
    ]);
    expect(model.pauses).toEqual([
      expect.objectContaining({ kind: 'api', start: T0 + 5000, end: T0 + 15_000 }),
      expect.objectContaining({ kind: 'usage-limit', start: T0 + 20_000, end: T0 + 30_000 }),
    ]);
    expect(model.sessions).toEqual([
      { start: T0, end: T0 + 50_000 },
      { start: T0 + 70_000, end: T0 + 100_000 },
    ]);
    expect(model.marks.map((mark) => mark.label)).toEqual([
      'usage limit close: at most 1 agent',
      'one task at a time: 3 tasks failed in a row',
      'budget reached ($0.4000 of $0.40)',
      'usage limit resets beyond --max-wait: the run stops admitting tasks',
      'merge queue starts on orch/r/integration',
      'merge check passed after a',
      'interrupted',
    ]);
    expect(model.tasks[0]!.merge).toBe('merged');
    expect(model.run.maxCostUsd).toBe(0.4);
  });

  it('says the same as text and as HTML', () => {
    const text = stripVTControlCharacters(renderReportText(model));
    expect(text).toContain('run 20260101-000000-abcd · paused (exit 75)');
    expect(text).toMatch(/ {4}\+1\.0s … \+41\.0s {2}waited 40\.0s: waits for a/);
    expect(text).toMatch(/resume \+1m10s … \+1m40s \(30\.0s\)/);
    expect(text).toContain('+20.0s … +30.0s  usage limit (five_hour): no new agents until its reset');
    expect(text).toContain('+0ms 2 (cores)');
    expect(text).toContain('a → b');
    expect(text).toContain('a ⟷ b conflict on src/x.js');
    expect(text).toMatch(/a +succeeded .* merged/);
    expect(text).toContain('b: budget');
    expect(text).toMatch(/cost \$0\.4000 of a \$0\.40 budget/);
    const html = renderReportHtml(model);
    expect(html).toContain('B &lt;b&gt;');
    expect(html).toContain('fill="url(#gap)"');
    expect(html.match(/class="pause /g)).toHaveLength(2);
    expect(html.match(/class="mark"/g)).toHaveLength(7);
    expect(html).toContain('the budget of $0.40 is reached');
  });
});

import { describe, expect, it } from 'vitest';
import type { WaitReason } from '../../src/domain/waiting.js';
import { describeWait } from '../../src/render/waiting.js';
import { waitingReasons, type WaitingInput, type WaitingTask } from '../../src/scheduler/waiting.js';

const NOW = Date.parse('2026-11-22T14:00:00Z');
const iso = (time: number): string => new Date(time).toISOString();

function input(tasks: WaitingTask[], extra: Partial<WaitingInput> = {}): WaitingInput {
  return {
    tasks,
    running: new Set(tasks.filter((task) => task.status === 'running').map((task) => task.id)),
    conflicts: [{ a: 'add-lerp', b: 'fix-date', files: ['src/math.js'] }],
    limit: { value: 4, reason: 'cores' },
    stopping: false,
    now: NOW,
    ...extra,
  };
}

const pending = (id: string, dependsOn: string[] = [], retryAt?: number): WaitingTask => ({ id, status: 'pending', dependsOn, retryAt });
const running = (id: string): WaitingTask => ({ id, status: 'running', dependsOn: [] });
const done = (id: string): WaitingTask => ({ id, status: 'succeeded', dependsOn: [] });

describe('waitingReasons: why each pending task is not running', () => {
  const tasks = [
    running('add-clamp'),
    running('add-lerp'),
    done('parse'),
    pending('doc-math', ['add-clamp', 'parse']),
    pending('fix-date'),
    pending('other'),
  ];
  const cases: Array<[string, WaitingInput, Record<string, WaitReason>]> = [
    [
      'dependencies first, then a conflict with a running task, else ready',
      input(tasks),
      {
        'doc-math': { kind: 'dependency', on: ['add-clamp'] },
        'fix-date': { kind: 'conflict', with: 'add-lerp', files: ['src/math.js'] },
        other: { kind: 'ready' },
      },
    ],
    [
      'the concurrency limit when it is reached',
      input(tasks, { limit: { value: 2, reason: 'max-parallel' } }),
      {
        'doc-math': { kind: 'dependency', on: ['add-clamp'] },
        'fix-date': { kind: 'conflict', with: 'add-lerp', files: ['src/math.js'] },
        other: { kind: 'limit', limit: 2, reason: 'max-parallel' },
      },
    ],
    [
      'an API pause holds every task whose dependencies are done',
      input([pending('a'), pending('b', ['a'])], { apiPausedUntil: NOW + 60_000 }),
      { a: { kind: 'api-pause', until: iso(NOW + 60_000) }, b: { kind: 'dependency', on: ['a'] } },
    ],
    [
      'a usage-limit pause outranks an API pause',
      input([pending('a')], { apiPausedUntil: NOW + 60_000, usagePausedUntil: NOW + 7_200_000, usageLimitType: 'five_hour' }),
      { a: { kind: 'usage-limit', until: iso(NOW + 7_200_000), limitType: 'five_hour', stopped: false } },
    ],
    [
      'a running task whose agent exited and gave its slot up does not count against the limit',
      input(tasks, { limit: { value: 2, reason: 'max-parallel' }, agents: 1 }),
      {
        'doc-math': { kind: 'dependency', on: ['add-clamp'] },
        'fix-date': { kind: 'conflict', with: 'add-lerp', files: ['src/math.js'] },
        other: { kind: 'ready' },
      },
    ],
    ['a retry backoff', input([pending('a', [], NOW + 5_000)]), { a: { kind: 'retry', at: iso(NOW + 5_000) } }],
    [
      'a pause that has ended holds nothing',
      input([pending('a')], { apiPausedUntil: NOW - 1, usagePausedUntil: NOW }),
      { a: { kind: 'ready' } },
    ],
    [
      'a spent budget holds everything, dependencies or not',
      input([pending('a'), pending('b', ['a'])], { halted: { kind: 'budget', maxCostUsd: 5, costUsd: 5.2 } }),
      { a: { kind: 'budget', maxCostUsd: 5, costUsd: 5.2 }, b: { kind: 'budget', maxCostUsd: 5, costUsd: 5.2 } },
    ],
    [
      'a usage limit beyond --max-wait',
      input([pending('a')], { halted: { kind: 'usage-limit', until: NOW + 48 * 3_600_000 }, usageLimitType: 'seven_day' }),
      { a: { kind: 'usage-limit', until: iso(NOW + 48 * 3_600_000), limitType: 'seven_day', stopped: true } },
    ],
    ['a run that is stopping', input([pending('a')], { stopping: true }), { a: { kind: 'stopping' } }],
  ];
  it.each(cases)('%s', (_name, given, expected) => {
    expect(Object.fromEntries(waitingReasons(given))).toEqual(expected);
  });
});

describe('describeWait: the words people read', () => {
  const at = (hhmm: string): string => {
    const date = new Date(NOW);
    const [hours, minutes] = hhmm.split(':').map(Number);
    date.setHours(hours!, minutes, 0, 0);
    return date.toISOString();
  };
  const cases: Array<[WaitReason, string]> = [
    [{ kind: 'dependency', on: ['add-clamp'] }, 'waits for add-clamp'],
    [{ kind: 'conflict', with: 'add-lerp', files: ['src/math.js'] }, 'conflicts with add-lerp (src/math.js)'],
    [{ kind: 'limit', limit: 4, reason: 'cores' }, 'limit 4 reached'],
    [{ kind: 'api-pause', until: at('14:02') }, 'API pause until 14:02'],
    [{ kind: 'usage-limit', until: at('16:00'), stopped: false }, 'usage limit: resumes at 16:00'],
    [{ kind: 'usage-limit', until: at('16:00'), stopped: true }, 'usage limit: resets at 16:00, beyond --max-wait'],
    [{ kind: 'budget', maxCostUsd: 5, costUsd: 5.2 }, 'budget ($5.20 of $5.00 spent)'],
    [{ kind: 'retry', at: at('14:03') }, 'retry at 14:03'],
    [{ kind: 'stopping' }, 'not started: the run is stopping'],
    [{ kind: 'ready' }, 'starting'],
  ];
  it.each(cases)('%j', (reason, words) => {
    expect(describeWait(reason, Date.parse(at('13:00')))).toBe(words);
  });
});

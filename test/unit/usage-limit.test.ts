import { describe, expect, it } from 'vitest';
import { isUsageLimitText, parseResetTime } from '../../src/agent/reset-time.js';
import { usageDecision, usageNow, type UsageSignal, type UsageState } from '../../src/scheduler/usage-limit.js';

const NOW = Date.parse('2026-11-22T02:31:00Z');
const HOUR = 3600_000;

describe('usageDecision', () => {
  const cases: Array<[string, UsageState, UsageSignal, number, UsageState, string]> = [
    [
      'a rejection pauses new starts until the reset',
      {},
      { status: 'rejected', resetsAt: NOW + 2 * HOUR, limitType: 'five_hour' },
      3,
      { pausedUntil: NOW + 2 * HOUR, limitType: 'five_hour' },
      'pause',
    ],
    [
      'a reset beyond --max-wait stops the run',
      {},
      { status: 'rejected', resetsAt: NOW + 50 * HOUR },
      3,
      { pausedUntil: NOW + 50 * HOUR },
      'stop',
    ],
    [
      'the same rejection from another agent changes nothing',
      { pausedUntil: NOW + 2 * HOUR },
      { status: 'rejected', resetsAt: NOW + 2 * HOUR },
      3,
      { pausedUntil: NOW + 2 * HOUR },
      'none',
    ],
    [
      'a later reset lengthens the pause',
      { pausedUntil: NOW + HOUR },
      { status: 'rejected', resetsAt: NOW + 2 * HOUR },
      3,
      { pausedUntil: NOW + 2 * HOUR },
      'pause',
    ],
    ['a reset already past is no reason to wait', {}, { status: 'rejected', resetsAt: NOW - 1000 }, 3, {}, 'none'],
    ['a rejection without a reset is pressure, like a 429', {}, { status: 'rejected' }, 3, {}, 'pressure'],
    [
      'a warning holds the limit at the agents running now',
      {},
      { status: 'allowed_warning', resetsAt: NOW + HOUR },
      3,
      { cap: 3, capUntil: NOW + HOUR },
      'cap',
    ],
    [
      'a warning with nothing running still lets one agent run',
      {},
      { status: 'allowed_warning', resetsAt: NOW + HOUR },
      0,
      { cap: 1, capUntil: NOW + HOUR },
      'cap',
    ],
    [
      'the same window warns with every response: the first sets the cap',
      { cap: 3, capUntil: NOW + HOUR },
      { status: 'allowed_warning', resetsAt: NOW + HOUR },
      1,
      { cap: 3, capUntil: NOW + HOUR },
      'none',
    ],
    ['a warning without a reset changes nothing', {}, { status: 'allowed_warning' }, 2, {}, 'none'],
  ];
  it.each(cases)('%s', (_name, previous, signal, running, state, action) => {
    const decision = usageDecision(previous, signal, NOW, running, 6 * HOUR);
    expect(decision.action.kind).toBe(action);
    expect(decision.state).toEqual(state);
  });

  it('forgets a pause and a cap once their reset has passed', () => {
    const state = { pausedUntil: NOW + HOUR, cap: 2, capUntil: NOW + 2 * HOUR, limitType: 'five_hour' };
    expect(usageNow(state, NOW + HOUR)).toEqual({ cap: 2, capUntil: NOW + 2 * HOUR, limitType: 'five_hour' });
    expect(usageNow(state, NOW + 2 * HOUR)).toEqual({});
  });
});

describe('the reset time in the real CLI’s usage-limit text', () => {
  const cases: Array<[string, string | undefined]> = [
    // As the real CLI 2.1.330 wrote them (TZ=UTC, and TZ=America/New_York), at 02:31 UTC.
    ["You've hit your 5-hour limit · resets 5:31am (UTC)", '2026-11-22T05:31:00.000Z'],
    ["You've hit your 5-hour limit · resets 2:41am (UTC)", '2026-11-22T02:41:00.000Z'],
    ["You've hit your weekly limit · resets Nov 25, 2:31am (UTC)", '2026-11-25T02:31:00.000Z'],
    ["You've hit your 5-hour limit · resets 11:31pm (America/New_York)", '2026-11-22T04:31:00.000Z'],
    ['You have reached the limit · resets 4pm (UTC)', '2026-11-22T16:00:00.000Z'],
    // A time of day already past today is tomorrow's.
    ["You've hit your 5-hour limit · resets 1am (UTC)", '2026-11-23T01:00:00.000Z'],
    // A date early next year read late this year.
    ["You've hit your weekly limit · resets Jan 2, 9am (UTC)", '2027-01-02T09:00:00.000Z'],
    ['Claude AI usage limit reached|1795325471', '2026-11-22T05:31:11.000Z'],
    ["You've hit your 5-hour limit · resets 5:31am (Mars/Olympus)", undefined],
    ['API Error: Request rejected (429) · Rate limited', undefined],
  ];
  it.each(cases)('%s', (text, expected) => {
    const parsed = parseResetTime(text, NOW);
    expect(parsed === undefined ? undefined : new Date(parsed).toISOString()).toBe(expected);
  });

  it('recognizes a usage-limit refusal by its words', () => {
    expect(isUsageLimitText("You've hit your 5-hour limit · resets 5:31am (UTC)")).toBe(true);
    expect(isUsageLimitText('Claude AI usage limit reached|1795325471')).toBe(true);
    expect(isUsageLimitText("API Error: Request rejected (429) · This request would exceed your account's rate limit.")).toBe(false);
  });
});

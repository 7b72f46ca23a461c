import { describe, expect, it } from 'vitest';
import { decideBusyLock, describeBreak, parseOwner, type BusyLock, type LockOwner } from '../../src/worktree/lock-owner.js';

const here = 'build-1';
const owner: LockOwner = { host: here, pid: 4242, startTime: '1000', since: '2026-11-22T12:00:00.000Z' };
const alive = { kind: 'present', startTime: '1000', zombie: false } as const;
const fresh = 1_000;
const old = 16_000;

describe('decideBusyLock: may a busy lock be broken?', () => {
  const rows: Array<[string, Partial<BusyLock>, ReturnType<typeof decideBusyLock>]> = [
    ['holder on this host, pid gone', { probe: { kind: 'absent' } }, { action: 'break', reason: 'dead' }],
    ['holder on this host, a zombie', { probe: { ...alive, zombie: true } }, { action: 'break', reason: 'dead' }],
    [
      'holder on this host, pid reused (another start time)',
      { probe: { ...alive, startTime: '2000' } },
      { action: 'break', reason: 'reused' },
    ],
    ['holder on this host alive, refreshed', { probe: alive }, { action: 'wait' }],
    [
      'holder on this host alive but not refreshed for 15 s (stopped): today’s rule',
      { probe: alive, ageMs: old },
      { action: 'break', reason: 'stale' },
    ],
    [
      'pid alive, start time not recorded: uncertain',
      { owner: { host: here, pid: 4242, since: '' }, probe: { ...alive, startTime: '2000' } },
      { action: 'wait' },
    ],
    [
      'start time not recorded, pid gone',
      { owner: { host: here, pid: 4242, since: '' }, probe: { kind: 'absent' } },
      { action: 'break', reason: 'dead' },
    ],
    ['pid unknowable here (not ours to see)', { probe: undefined }, { action: 'wait' }],
    ['pid unknowable here, not refreshed', { probe: undefined, ageMs: old }, { action: 'break', reason: 'stale' }],
    [
      'another host: never by pid, though that pid is free here',
      { owner: { ...owner, host: 'build-2' }, probe: { kind: 'absent' } },
      { action: 'wait' },
    ],
    [
      'another host, not refreshed',
      { owner: { ...owner, host: 'build-2' }, probe: { kind: 'absent' }, ageMs: old },
      { action: 'break', reason: 'stale' },
    ],
    ['no owner record', { owner: undefined, probe: undefined }, { action: 'wait' }],
    ['no owner record, not refreshed', { owner: undefined, probe: undefined, ageMs: old }, { action: 'break', reason: 'stale' }],
    ['exactly at the stale age: not yet', { probe: alive, ageMs: 15_000 }, { action: 'wait' }],
  ];
  it.each(rows)('%s', (_, change, expected) => {
    expect(decideBusyLock({ owner, host: here, probe: alive, ageMs: fresh, staleMs: 15_000, ...change })).toEqual(expected);
  });
});

describe('owner records', () => {
  it('reads what a holder writes, and nothing else', () => {
    expect(parseOwner(JSON.stringify(owner))).toEqual(owner);
    expect(parseOwner(JSON.stringify({ host: 'h', pid: 7, since: 'x' }))).toEqual({ host: 'h', pid: 7, since: 'x' });
    for (const text of [
      '',
      '{',
      'null',
      '7',
      '{"host":"h"}',
      '{"host":"","pid":7}',
      '{"host":"h","pid":0}',
      '{"host":"h","pid":1.5}',
      '{"host":"h","pid":7,"startTime":5}',
    ])
      expect(parseOwner(text)).toBeUndefined();
  });

  it('says why a lock was broken', () => {
    expect(describeBreak(owner, 'dead', 0)).toBe('its holder (pid 4242 on build-1) is gone');
    expect(describeBreak(owner, 'reused', 0)).toBe('its holder (pid 4242 on build-1) is gone, its pid now belongs to another process');
    expect(describeBreak(undefined, 'stale', 16_400)).toBe('its holder (no readable owner record) had not refreshed it for 16 s');
  });
});

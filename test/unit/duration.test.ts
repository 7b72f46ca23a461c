import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/util/duration.js';

describe('formatDuration', () => {
  it.each([
    [850, '850ms'],
    [12_345, '12.3s'],
    [245_000, '4m05s'],
    [7_380_000, '2h03m'],
  ])('%d ms is %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('parseDuration', () => {
  it.each([
    ['90s', 90_000],
    [45, 45_000],
    ['1.5h', 5_400_000],
    ['soon', undefined],
    [0, undefined],
    [-5, undefined],
  ])('%s is %s ms', (value, ms) => {
    expect(parseDuration(value)).toBe(ms);
  });
});

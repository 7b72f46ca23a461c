import { describe, expect, it } from 'vitest';
import { atLeast } from '../../src/worktree/git-version.js';

describe('atLeast', () => {
  it.each([
    ['2.39.5', '2.31', true],
    ['2.31.0', '2.31', true],
    ['2.31', '2.31', true],
    ['2.30.9', '2.31', false],
    ['2.9.0', '2.31', false],
    ['3.0.0', '2.38', true],
    ['2.38.0.windows.1', '2.38', true],
  ])('%s ≥ %s is %s', (version, minimum, expected) => {
    expect(atLeast(version, minimum)).toBe(expected);
  });
});

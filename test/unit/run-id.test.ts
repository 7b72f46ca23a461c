import { describe, expect, it } from 'vitest';
import { newRunId } from '../../src/commands/create-run.js';
import { RUN_ID_PATTERN } from '../../src/state/paths.js';

describe('newRunId', () => {
  it('sorts in the order runs started, within one second too, and has the shape paths accept', () => {
    const starts = [
      '2026-11-22T20:45:16.002Z',
      '2026-11-22T20:45:16.010Z',
      '2026-11-22T20:45:16.100Z',
      '2026-11-22T20:45:16.999Z',
      '2026-11-22T20:45:17.000Z',
    ];
    for (let round = 0; round < 20; round++) {
      const ids = starts.map((at) => newRunId(new Date(at)));
      for (const id of ids) expect(id).toMatch(RUN_ID_PATTERN);
      expect([...ids].sort()).toEqual(ids);
    }
    expect(newRunId(new Date('2026-11-22T20:45:16.042Z'))).toMatch(/^20261122-204516-042[0-9a-f]$/);
  });
});

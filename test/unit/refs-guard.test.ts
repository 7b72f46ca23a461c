import { describe, expect, it } from 'vitest';
import {
  ZERO_SHA,
  culprits,
  describeChange,
  diffRefs,
  explains,
  judge,
  parseReflog,
  type Candidate,
  type GuardContext,
  type RefChange,
  type Transition,
} from '../../src/worktree/refs-guard.js';

const sha = (digit: string): string => digit.repeat(40);
const [A, B, C, D] = [sha('a'), sha('b'), sha('c'), sha('d')];
const RUN = '20261122-010203-abcd';
const OWN = `refs/heads/orch/${RUN}/mine`;
const move = (from: string | undefined, to: string | undefined): Transition => ({
  from: from ?? ZERO_SHA,
  to: to ?? ZERO_SHA,
  message: 'commit: x',
});

describe('diffRefs', () => {
  it('lists created, moved and deleted refs in name order, leaving out per-worktree refs and the stash', () => {
    const before = { 'refs/heads/main': A, 'refs/heads/old': B, 'refs/tags/v1': C, 'refs/stash': A, 'refs/bisect/bad': A };
    const after = { 'refs/heads/main': D, 'refs/heads/new': D, 'refs/tags/v1': C, 'refs/stash': B, 'refs/bisect/good': A };
    expect(diffRefs(before, after)).toEqual([
      { ref: 'refs/heads/main', action: 'moved', before: A, after: D },
      { ref: 'refs/heads/new', action: 'created', after: D },
      { ref: 'refs/heads/old', action: 'deleted', before: B },
    ]);
    expect(diffRefs(before, before)).toEqual([]);
  });

  it('compares symbolic refs by their target', () => {
    expect(
      diffRefs(
        { 'refs/remotes/origin/HEAD': 'ref: refs/remotes/origin/main' },
        { 'refs/remotes/origin/HEAD': 'ref: refs/remotes/origin/dev' },
      ),
    ).toEqual([
      { ref: 'refs/remotes/origin/HEAD', action: 'moved', before: 'ref: refs/remotes/origin/main', after: 'ref: refs/remotes/origin/dev' },
    ]);
  });
});

describe('explains', () => {
  it('follows a chain of recorded moves, a missing ref being the zero id', () => {
    const chain = [move(A, B), move(B, B), move(B, C), move(D, A)];
    expect(explains(chain, A, C)).toBe(true);
    expect(explains(chain, D, C)).toBe(true);
    expect(explains(chain, C, A)).toBe(false);
    expect(explains(chain, A, A)).toBe(true);
    expect(explains([move(undefined, A)], undefined, A)).toBe(true);
    expect(explains([], undefined, A)).toBe(false);
  });
});

describe('judge', () => {
  const context = (overrides: Partial<GuardContext> = {}): GuardContext => ({
    own: OWN,
    runId: RUN,
    concurrent: new Set(),
    checkedOut: new Map(),
    reflog: new Map(),
    ...overrides,
  });
  const moved = (ref: string): RefChange => ({ ref, action: 'moved', before: A, after: B });

  it.each<[string, RefChange, Partial<GuardContext>, ReturnType<typeof judge>]>([
    ['the agent’s own branch', moved(OWN), {}, { restore: false, why: 'own branch' }],
    [
      'a task that ran at the same time',
      moved(`refs/heads/orch/${RUN}/other`),
      { concurrent: new Set([`refs/heads/orch/${RUN}/other`]) },
      { restore: false, why: 'concurrent task' },
    ],
    ['a finished task of the same run', moved(`refs/heads/orch/${RUN}/done`), {}, { restore: true }],
    ['another orch run’s task branch', moved('refs/heads/orch/20261121-000000-0000/x'), {}, { restore: false, why: 'another run' }],
    ['a branch merely named like orch’s', moved('refs/heads/orch/feature'), {}, { restore: true }],
    [
      'your commit in your checkout',
      moved('refs/heads/main'),
      { checkedOut: new Map([['refs/heads/main', [move(A, C), move(C, B)]]]) },
      { restore: false, why: 'made in its checkout' },
    ],
    [
      'a move the checked-out branch’s HEAD reflog does not record',
      moved('refs/heads/main'),
      { checkedOut: new Map([['refs/heads/main', [move(A, C)]]]) },
      { restore: true },
    ],
    [
      'a move orch recorded itself',
      moved('refs/heads/release'),
      { reflog: new Map([['refs/heads/release', [{ from: A, to: B, message: 'orch: merge' }]]]) },
      { restore: false, why: 'made by orch' },
    ],
    [
      'a move recorded by anyone else',
      moved('refs/heads/release'),
      { reflog: new Map([['refs/heads/release', [{ from: A, to: B, message: 'branch: Reset to HEAD' }]]]) },
      { restore: true },
    ],
    ['a created tag', { ref: 'refs/tags/v9', action: 'created', after: B }, {}, { restore: true }],
    ['a deleted remote-tracking ref', { ref: 'refs/remotes/origin/main', action: 'deleted', before: A }, {}, { restore: true }],
  ])('%s', (_name, change, overrides, verdict) => {
    expect(judge(change, context(overrides))).toEqual(verdict);
  });
});

describe('culprits', () => {
  const candidate = (taskId: string, tip: string | undefined, holds = false): Candidate => ({ taskId, tip, holds });
  const change: RefChange = { ref: 'refs/heads/keep-me', action: 'moved', before: A, after: C };

  it.each<[string, RefChange, Candidate[], string[]]>([
    ['the only agent running', change, [candidate('me', B)], ['me']],
    ['the agent whose branch tip the ref now points at', change, [candidate('me', B), candidate('mover', C)], ['mover']],
    ['the only agent whose own work it points into', change, [candidate('me', B), candidate('mover', D, true)], ['mover']],
    ['no telling: every agent running', change, [candidate('me', B), candidate('other', D)], ['me', 'other']],
    ['two tips alike: no telling', change, [candidate('me', C), candidate('other', C)], ['me', 'other']],
    [
      'a deleted ref among several agents',
      { ref: 'refs/tags/v1', action: 'deleted', before: A },
      [candidate('me', A), candidate('x', A)],
      ['me', 'x'],
    ],
  ])('%s', (_name, seen, candidates, ids) => {
    expect(culprits(seen, candidates)).toEqual(ids);
  });
});

describe('parseReflog and describeChange', () => {
  it('reads old, new and message from reflog lines', () => {
    const text = `${ZERO_SHA} ${A} T <t@e> 1795314737 +0000\tbranch: Created from HEAD\n${A} ${B} T <t@e> 1795314738 +0000\n\n`;
    expect(parseReflog(text)).toEqual([
      { from: ZERO_SHA, to: A, message: 'branch: Created from HEAD' },
      { from: A, to: B, message: '' },
    ]);
  });

  it('says what was done and how it was undone', () => {
    expect(describeChange({ ref: 'refs/heads/keep-me', action: 'moved', before: A, after: B })).toBe(
      'moved keep-me from aaaaaaaaa to bbbbbbbbb (put back)',
    );
    expect(describeChange({ ref: 'refs/tags/v1', action: 'created', after: B })).toBe(
      'created tags/v1 at bbbbbbbbb (removed; `git update-ref refs/tags/v1 bbbbbbbbb` brings it back)',
    );
    expect(describeChange({ ref: 'refs/heads/old', action: 'deleted', before: A })).toBe('deleted old at aaaaaaaaa (recreated)');
    expect(describeChange({ ref: 'HEAD', action: 'switched', before: OWN, after: 'refs/heads/x' })).toBe(
      `switched its worktree from orch/${RUN}/mine to x (switched back)`,
    );
    expect(describeChange({ ref: 'HEAD', action: 'switched', before: OWN, after: D })).toBe(
      `switched its worktree from orch/${RUN}/mine to commit ddddddddd (switched back)`,
    );
    expect(describeChange({ ref: 'refs/heads/x', action: 'created', after: C, suspects: ['a', 'b'] })).toMatch(
      /\(removed; .*\) — made while the agents of a, b ran; which one is not known$/,
    );
  });
});

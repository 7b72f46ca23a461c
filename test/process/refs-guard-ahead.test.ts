import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RefsGuard } from '../../src/executor/guard.js';
import { GitMutex } from '../../src/worktree/mutex.js';
import { readRefs } from '../../src/worktree/refs.js';
import { git, tempRepo } from '../support/git.js';
import { guardSpec, GUARD_RUN } from '../support/guard.js';
import { tempDir } from '../support/tmp.js';

describe('the refs guard and a branch orch makes ahead of time', () => {
  it('a record read while orch made a branch keeps it, and its check does not put it back', async () => {
    const repo = await tempRepo();
    const dir = await tempDir('orch-guard-');
    const head = (await git(repo, 'rev-parse', 'HEAD')).trim();
    const guard = new RefsGuard(repo, GUARD_RUN, new GitMutex(path.join(dir, 'state')));
    const reports: unknown[] = [];
    const attempt = guard.begin(guardSpec(repo, 'running', head), async (found) => void reports.push(found));
    // The record's read is under way when orch makes the next task's branch (as ahead-of-time
    // preparation does; here a loose ref written at once) and says so. Whether git's read sees the
    // new ref is up to the timing: either way the record ends up with it.
    const ahead = `refs/heads/orch/${GUARD_RUN}/next`;
    const recording = attempt.record(path.join(dir, 'running.refs.json'));
    mkdirSync(path.join(repo, '.git', 'refs', 'heads', 'orch', GUARD_RUN), { recursive: true });
    writeFileSync(path.join(repo, '.git', 'refs', 'heads', 'orch', GUARD_RUN, 'next'), `${head}\n`);
    guard.madeByOrch({ [ahead]: head });
    await recording;
    expect(await attempt.check([], { worktree: false })).toEqual({ changes: [], problems: [] });
    expect((await readRefs(repo))[ahead]).toBe(head);
    expect(reports).toEqual([]);
  });
});

import path from 'node:path';
import type { AttemptSpec } from '../../src/executor/types.js';

/** The run id of the refs-guard tests' attempts. */
export const GUARD_RUN = '20261122-010203-abcd';

/** What the refs guard reads of an attempt's spec: its run, its task's branch and worktree, its base. */
export function guardSpec(repo: string, id: string, base: string): AttemptSpec {
  return {
    runId: GUARD_RUN,
    task: { id, branch: `orch/${GUARD_RUN}/${id}`, worktree: path.join(repo, '.gadugi', 'worktrees', id) },
    base: { ref: 'HEAD', sha: base },
  } as unknown as AttemptSpec;
}

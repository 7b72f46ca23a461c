import { describe, expect, it } from 'vitest';
import { planResume, type ResumeFacts } from '../../src/engine/resume-plan.js';
import type { TaskRecord } from '../../src/state/registry.js';

const task = (id: string, overrides: Partial<TaskRecord>): TaskRecord => ({
  id,
  title: id,
  promptFile: `${id}.md`,
  dependsOn: [],
  files: [],
  priority: 0,
  order: 0,
  status: 'pending',
  worktree: `/w/${id}`,
  branch: `orch/r/${id}`,
  attempts: 0,
  retriesUsed: 0,
  apiRequeues: 0,
  attemptLog: [],
  permissionDenials: [],
  commits: [],
  ...overrides,
});
const agent = (pid: number) => ({ pid, startTime: String(pid) });
const facts = (alive: number[], withResult: string[] = [], retryFailed = false): ResumeFacts => ({
  liveAgent: (t) => (t.agent && alive.includes(t.agent.pid) ? t.agent : undefined),
  hasResult: (t) => withResult.includes(t.id),
  retryFailed,
});

describe('planResume', () => {
  const tasks = [
    task('done', { status: 'succeeded' }),
    task('alive', { status: 'running', agent: agent(1) }),
    task('finished-alone', { status: 'running', agent: agent(2) }),
    task('died', { status: 'running', agent: agent(3), sessionId: 'sess-3' }),
    task('stopped', { status: 'interrupted', sessionId: 'sess-4' }),
    task('fresh-stopped', { status: 'interrupted' }),
    task('waiting', { status: 'pending' }),
    task('broken', { status: 'failed', reason: 'tests failed' }),
    task('after-broken', { status: 'skipped', skippedBecause: 'broken' }),
    task('after-after', { status: 'skipped', skippedBecause: 'after-broken' }),
  ];

  it('adopts live agents, collects finished ones, re-runs the rest, keeps what is done', () => {
    const plan = planResume(tasks, facts([1], ['finished-alone']));
    expect(Object.fromEntries([...plan].map(([id, action]) => [id, action.kind]))).toEqual({
      done: 'keep',
      alive: 'adopt',
      'finished-alone': 'collect',
      died: 'rerun',
      stopped: 'rerun',
      'fresh-stopped': 'rerun',
      waiting: 'keep',
      broken: 'keep',
      'after-broken': 'keep',
      'after-after': 'keep',
    });
    expect(plan.get('died')).toMatchObject({ next: { kind: 'resume', resumeSessionId: 'sess-3' } });
    expect(plan.get('stopped')).toMatchObject({ next: { kind: 'resume', resumeSessionId: 'sess-4' } });
    expect(plan.get('fresh-stopped')).toMatchObject({ next: { kind: 'resume' } });
    expect((plan.get('fresh-stopped') as { next: object }).next).not.toHaveProperty('resumeSessionId');
  });

  it('with --retry-failed re-runs failures and revives the chain they skipped', () => {
    const plan = planResume(tasks, facts([1], [], true));
    expect(plan.get('broken')).toMatchObject({ kind: 'rerun', next: { kind: 'retry', note: expect.stringContaining('tests failed') } });
    expect(plan.get('after-broken')).toEqual({ kind: 'revive' });
    expect(plan.get('after-after')).toEqual({ kind: 'revive' });
  });
});

describe('planResume on a run with workers', () => {
  const withJob = (id: string) =>
    task(id, {
      status: 'running',
      attemptLog: [
        {
          number: 1,
          kind: 'fresh',
          startedAt: '2026-01-01T00:00:00Z',
          log: 'l',
          stderr: 's',
          prompt: 'p',
          parallel: false,
          job: { id: `r.${id}.1`, queue: 'q' },
        },
      ],
    });
  it.each([
    ['waiting', { kind: 'reattach', jobId: 'r.t.1' }],
    ['active', { kind: 'reattach', jobId: 'r.t.1' }],
    ['completed', { kind: 'reattach', jobId: 'r.t.1' }],
    ['failed', { kind: 'reattach', jobId: 'r.t.1' }],
  ] as const)('a job %s in the queue is followed, never queued again', (state, expected) => {
    const plan = planResume([withJob('t')], { ...facts([]), jobState: () => state });
    expect(plan.get('t')).toEqual(expected);
  });

  it('a job that never reached the queue (the coordinator died in between) runs again', () => {
    const plan = planResume([withJob('t')], { ...facts([]), jobState: () => 'missing' });
    expect(plan.get('t')).toMatchObject({ kind: 'rerun', next: { kind: 'resume' } });
  });
});

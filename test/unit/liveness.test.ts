import { describe, expect, it } from 'vitest';
import { viewOf } from '../../src/commands/status.js';
import type { Registry, TaskRecord } from '../../src/state/registry.js';
import type { ProcessIdentity } from '../../src/process/process-info.js';

const orchestrator = { pid: 100, startTime: 's100', host: 'h' };
const agent = (pid: number): ProcessIdentity => ({ pid, startTime: `s${pid}` });
const now = Date.parse('2026-11-21T12:00:00Z');
const ago = (ms: number) => new Date(now - ms).toISOString();

function registry(runOverrides: Partial<Registry['run']>, tasks: Array<Partial<TaskRecord>>): Registry {
  return {
    run: {
      version: 1,
      id: 'r',
      repoRoot: '/r',
      baseRef: 'HEAD',
      baseSha: 'abc',
      promptFiles: [],
      worktreeRoot: '/w',
      config: {},
      conflicts: [],
      orchestrator,
      sessions: [],
      startedAt: ago(60_000),
      heartbeatAt: ago(1000),
      status: 'running',
      mode: 'parallel',
      limit: { value: 2, reason: 'cores' },
      ...runOverrides,
    },
    tasks: tasks.map((task, index) => ({
      id: `t${index}`,
      title: 't',
      promptFile: 'p',
      dependsOn: [],
      files: [],
      priority: 0,
      order: index,
      status: 'pending',
      worktree: '/w',
      branch: 'b',
      attempts: 0,
      retriesUsed: 0,
      apiRequeues: 0,
      attemptLog: [],
      permissionDenials: [],
      commits: [],
      ...task,
    })),
  };
}

const probe = (alive: number[]) => ({
  isAlive: (identity?: ProcessIdentity) =>
    identity !== undefined && alive.includes(identity.pid) && identity.startTime === `s${identity.pid}`,
  now,
  staleAfterMs: 30_000,
});

describe('liveness', () => {
  it('a live orchestrator with a fresh heartbeat is running; its agents alive or dead', () => {
    const view = viewOf(
      registry({}, [
        { status: 'running', agent: agent(7), startedAt: ago(5000), heartbeatAt: ago(500) },
        { status: 'running', agent: agent(8) },
      ]),
      probe([100, 7]),
    );
    expect(view.run).toMatchObject({ liveness: 'running', orchestratorAlive: true, heartbeatAgeMs: 1000 });
    expect(view.tasks[0]).toMatchObject({ liveness: 'alive', agentAlive: true, elapsedMs: 5000, heartbeatAgeMs: 500 });
    expect(view.tasks[1]).toMatchObject({ liveness: 'dead', agentAlive: false });
  });

  it('a run whose orchestrator is gone is stale, and its live agents orphaned', () => {
    const view = viewOf(registry({}, [{ status: 'running', agent: agent(7) }]), probe([7]));
    expect(view.run.liveness).toBe('stale');
    expect(view.tasks[0]!.liveness).toBe('orphaned');
  });

  it('a run with a silent heartbeat is stale even if its pid answers', () => {
    expect(viewOf(registry({ heartbeatAt: ago(31_000) }, []), probe([100])).run.liveness).toBe('stale');
  });

  it('a reused pid is not the orchestrator', () => {
    const view = viewOf(registry({ orchestrator: { ...orchestrator, startTime: 'other' } }, []), probe([100]));
    expect(view.run).toMatchObject({ liveness: 'stale', orchestratorAlive: false });
  });

  it('a finished run keeps its status; an agent still alive under it is orphaned', () => {
    const view = viewOf(
      registry({ status: 'interrupted' }, [
        { status: 'interrupted', agent: agent(9) },
        { status: 'succeeded', agent: agent(10) },
      ]),
      probe([9]),
    );
    expect(view.run.liveness).toBe('interrupted');
    expect(view.tasks[0]!.liveness).toBe('orphaned');
    expect(view.tasks[1]!.liveness).toBeUndefined();
  });
});

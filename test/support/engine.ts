import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { configSchema, type ConfigInput, type OrchConfig } from '../../src/config/schema.js';
import { Orchestrator, type RunOutcome } from '../../src/engine/orchestrator.js';
import type { StampedEvent } from '../../src/events.js';
import { ConflictIndex } from '../../src/graph/conflicts.js';
import { runPaths } from '../../src/state/paths.js';
import type { Registry, TaskRecord } from '../../src/state/registry.js';
import { RunStore } from '../../src/state/store.js';
import type { HookRunner } from '../../src/hooks/hooks.js';
import { FakeClock } from './fake-clock.js';
import { FakeExecutor } from './fake-executor.js';
import { taskRecord } from './records.js';
import { tempDir } from './tmp.js';

export interface EngineTask {
  id: string;
  dependsOn?: string[];
  priority?: number;
}

export interface EngineHarness {
  orchestrator: Orchestrator;
  executor: FakeExecutor;
  clock: FakeClock;
  store: RunStore;
  config: OrchConfig;
  /** Every event the store recorded or notified, in order. */
  events: StampedEvent[];
  done: Promise<RunOutcome>;
  task(id: string): TaskRecord;
}

const RUN_ID = '20260101-000000-abcd';

/**
 * The real engine — orchestrator, decisions, transitions, a real store writing a real registry
 * and ledger in a temporary folder — with a fake clock and a fake executor: every rule of a run
 * can be exercised in-process, without agents or git.
 */
export async function startEngine(
  tasks: EngineTask[],
  options: {
    config?: ConfigInput;
    conflicts?: Array<{ a: string; b: string }>;
    cores?: number;
    /** A run on workers: their slots, changed by the test (read at each sample). */
    workers?: { slots: number };
    onEvent?: (event: StampedEvent, harness: EngineHarness) => void;
    hooks?: HookRunner;
    /** What tasks took in earlier runs of the repository (ranks ready tasks by critical path). */
    earlier?: ReadonlyMap<string, number>;
  } = {},
): Promise<EngineHarness> {
  const dir = await tempDir('orch-engine-');
  const paths = runPaths(dir, RUN_ID);
  await mkdir(paths.tasks, { recursive: true });
  for (const task of tasks) await writeFile(path.join(paths.tasks, `${task.id}.md`), `# ${task.id}\n`);
  const clock = new FakeClock();
  const now = new Date(clock.now()).toISOString();
  const registry: Registry = {
    run: {
      version: 1,
      id: RUN_ID,
      repoRoot: dir,
      baseRef: 'HEAD',
      baseSha: 'base',
      promptFiles: [],
      worktreeRoot: path.join(dir, 'worktrees'),
      config: {},
      conflicts: (options.conflicts ?? []).map((pair) => ({ ...pair, files: ['shared.txt'] })),
      orchestrator: { pid: process.pid, startTime: 'test', host: 'test' },
      sessions: [{ pid: process.pid, startedAt: now }],
      startedAt: now,
      heartbeatAt: now,
      status: 'running',
      mode: 'parallel',
      limit: { value: 0, reason: 'cores' },
    },
    tasks: tasks.map((task, order) =>
      taskRecord({
        id: task.id,
        title: task.id,
        dependsOn: task.dependsOn ?? [],
        priority: task.priority ?? 0,
        order,
        status: 'pending',
        attempts: 0,
        branch: `orch/${RUN_ID}/${task.id}`,
        worktree: path.join(dir, 'worktrees', task.id),
      }),
    ),
  };
  const events: StampedEvent[] = [];
  // The sink is made before the harness it hands to onEvent.
  const made: { harness?: EngineHarness } = {};
  const store = RunStore.create(paths, registry, (event) => {
    events.push(event);
    if (made.harness) options.onEvent?.(event, made.harness);
  });
  // Fast retries and heartbeats, no jitter surprises: the test moves the clock.
  const config = configSchema.parse({ retries: { backoff: '5s' }, ...options.config });
  const executor = new FakeExecutor();
  const orchestrator = new Orchestrator({
    store,
    config,
    conflicts: new ConflictIndex(registry.run.conflicts),
    executor,
    sampler: async () => ({ cores: options.cores ?? 4, availableMemMb: 64_000, loadPerCore: 0 }),
    clock,
    random: () => 0.5,
    capacity: options.workers && { refresh: () => Promise.resolve(), slots: () => options.workers?.slots ?? 0 },
    hooks: options.hooks,
    earlier: options.earlier,
  });
  const harness: EngineHarness = {
    orchestrator,
    executor,
    clock,
    store,
    config,
    events,
    done: orchestrator.run(),
    task: (id) => store.task(id),
  };
  made.harness = harness;
  return harness;
}

/** The task-status events of one task, as `status` strings in order. */
export function statusesOf(events: readonly StampedEvent[], taskId: string): string[] {
  return events.flatMap((event) => (event.type === 'task-status' && event.taskId === taskId ? [event.status] : []));
}

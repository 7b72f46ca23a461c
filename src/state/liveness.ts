import type { Registry, TaskRecord } from './registry.js';
import type { ProcessIdentity } from '../process/process-info.js';
import type { RunStatus } from '../domain/vocabulary.js';

/** What a run's state really is, derived from pids and heartbeats rather than trusted from the file. */
export type RunLiveness = 'running' | 'stale' | Exclude<RunStatus, 'running'>;
/** For tasks with an agent: `alive` under a live run, `orphaned` under a stale or finished one, `dead` when gone. */
export type AgentLiveness = 'alive' | 'dead' | 'orphaned';

export interface LivenessProbe {
  isAlive: (identity: ProcessIdentity | undefined) => boolean;
  now: number;
  staleAfterMs: number;
}

export interface RunLivenessView {
  liveness: RunLiveness;
  orchestratorAlive: boolean;
  heartbeatAgeMs: number;
}

export interface TaskLivenessView {
  agentAlive: boolean;
  /** Only for tasks that have (or had, while running) an agent. */
  liveness?: AgentLiveness;
  heartbeatAgeMs?: number;
  elapsedMs?: number;
}

export function runLiveness(registry: Registry, probe: LivenessProbe): RunLivenessView {
  const { run } = registry;
  const orchestratorAlive = probe.isAlive(run.orchestrator);
  const heartbeatAgeMs = Math.max(0, probe.now - Date.parse(run.heartbeatAt));
  if (run.status !== 'running') return { liveness: run.status, orchestratorAlive, heartbeatAgeMs };
  const stale = !orchestratorAlive || heartbeatAgeMs > probe.staleAfterMs;
  return { liveness: stale ? 'stale' : 'running', orchestratorAlive, heartbeatAgeMs };
}

export function taskLiveness(task: TaskRecord, run: RunLivenessView, probe: LivenessProbe): TaskLivenessView {
  const agentAlive = probe.isAlive(task.agent);
  const view: TaskLivenessView = { agentAlive };
  if (task.startedAt) {
    const end = task.status === 'running' ? probe.now : task.finishedAt ? Date.parse(task.finishedAt) : probe.now;
    view.elapsedMs = Math.max(0, end - Date.parse(task.startedAt));
  }
  if (task.heartbeatAt && task.status === 'running') view.heartbeatAgeMs = Math.max(0, probe.now - Date.parse(task.heartbeatAt));
  // An agent on a worker (`run --workers`) is not a process here: it lives while its job does, followed while the run is.
  const remote = task.attemptLog.at(-1)?.job !== undefined;
  if (task.status === 'running' && remote) view.liveness = run.liveness === 'running' ? 'alive' : 'orphaned';
  else if (task.status === 'running') {
    if (!agentAlive) view.liveness = 'dead';
    else view.liveness = run.liveness === 'running' ? 'alive' : 'orphaned';
  } else if (agentAlive && task.agent) {
    // A task the registry says is over, whose agent still runs: nobody is following it.
    view.liveness = 'orphaned';
  }
  return view;
}

import type { WaitReason } from '../domain/waiting.js';
import { summarize } from '../engine/summary.js';
import type { RunSummary, StampedEvent } from '../events.js';
import type { Registry } from '../state/registry.js';
import { budgetOf } from './format.js';

/** Everything a report shows, as data in ms since epoch: what the text and HTML reports draw. */
export interface ReportModel {
  run: {
    id: string;
    status: string;
    exitCode?: number | undefined;
    reason?: string | undefined;
    baseRef: string;
    baseSha: string;
    mode: string;
    modeReason?: string | undefined;
    maxCostUsd?: number | undefined;
  };
  /** The timeline's bounds: the run's start, and its end (or now, for a run still going). */
  start: number;
  end: number;
  tasks: ReportTask[];
  /** When an orchestrator drove the run (a resume is a new session; gaps are time nothing ran it). */
  sessions: Array<{ start: number; end: number }>;
  /** Times no new agent started: API pressure (429/529) and a plan's usage limit. */
  pauses: Array<{ kind: 'api' | 'usage-limit'; start: number; end: number; label: string }>;
  /** The concurrency limit as it changed, with what set it. */
  limits: Array<{ at: number; value: number; reason: string }>;
  /** Moments worth a mark: one at a time, budget reached, usage limit beyond --max-wait, Ctrl-C. */
  marks: Array<{ at: number; label: string }>;
  conflicts: Array<{ a: string; b: string; files: string[] }>;
  summary: RunSummary;
}

export interface ReportTask {
  id: string;
  title: string;
  status: string;
  reason?: string | undefined;
  branch: string;
  dependsOn: string[];
  builtOn: string[];
  files: string[];
  commits: number;
  turns?: number | undefined;
  costUsd?: number | undefined;
  durationMs: number;
  merge?: string | undefined;
  attempts: Array<{
    number: number;
    kind: string;
    start: number;
    end: number;
    /** `running` while it still runs. */
    outcome: string;
    reason?: string | undefined;
    turns?: number | undefined;
    costUsd?: number | undefined;
    /** The orch worker that ran it (`run --workers`). */
    worker?: string | undefined;
  }>;
  /** Why it waited, and when (from the ledger's `waiting` events). */
  waits: Array<{ start: number; end: number; reason: WaitReason }>;
}

const time = (iso: string): number => Date.parse(iso);

/** The report of a run, from its registry and its ledger (pure: `now` ends what is still going). */
export function buildReport(registry: Registry, ledger: readonly StampedEvent[], now: number): ReportModel {
  const { run } = registry;
  const start = time(run.startedAt);
  const live = run.status === 'running';
  const lastEvent = ledger.length > 0 ? time(ledger[ledger.length - 1]!.at) : start;
  const end = Math.max(start, run.finishedAt && !live ? time(run.finishedAt) : live ? now : lastEvent);
  const clip = (value: number): number => Math.min(Math.max(value, start), end);

  // Waiting segments: each reason from its `waiting` event to the next change, or the task's start.
  const waits = new Map<string, ReportTask['waits']>();
  const open = new Map<string, { start: number; reason: WaitReason }>();
  const close = (taskId: string, at: number): void => {
    const current = open.get(taskId);
    if (!current) return;
    open.delete(taskId);
    if (at > current.start)
      (waits.get(taskId) ?? waits.set(taskId, []).get(taskId)!).push({ start: current.start, end: at, reason: current.reason });
  };
  const pauses: ReportModel['pauses'] = [];
  const limits: ReportModel['limits'] = [];
  const marks: ReportModel['marks'] = [];
  for (const event of ledger) {
    const at = time(event.at);
    switch (event.type) {
      case 'waiting':
        for (const change of event.changes) {
          close(change.taskId, at);
          open.set(change.taskId, { start: at, reason: change.waiting });
        }
        break;
      case 'task-status':
        if (event.status !== 'pending') close(event.taskId, at);
        break;
      case 'run-finished':
      case 'stopping':
        for (const taskId of [...open.keys()]) close(taskId, at);
        if (event.type === 'stopping')
          marks.push({ at, label: event.reason === 'interrupt' ? 'interrupted' : `stopping: ${event.message ?? 'aborted'}` });
        break;
      case 'api-pressure':
        pauses.push({
          kind: 'api',
          start: at,
          end: clip(time(event.pausedUntil)),
          label: `API ${event.status}: no new agents for a while (backoff level ${event.level})`,
        });
        break;
      case 'usage-limit':
        if (event.action === 'pause')
          pauses.push({
            kind: 'usage-limit',
            start: at,
            end: clip(time(event.resetsAt)),
            label: `usage limit${event.limitType ? ` (${event.limitType})` : ''}: no new agents until its reset`,
          });
        else if (event.action === 'stop') marks.push({ at, label: `usage limit resets beyond --max-wait: the run stops admitting tasks` });
        else marks.push({ at, label: `usage limit close: at most ${event.limit ?? 1} agent${event.limit === 1 ? '' : 's'}` });
        break;
      case 'limit':
        limits.push({ at, value: event.limit, reason: event.reason });
        break;
      case 'mode':
        marks.push({ at, label: `one task at a time: ${event.reason}` });
        break;
      case 'budget':
        marks.push({ at, label: `budget reached ($${event.costUsd.toFixed(4)} of $${event.maxCostUsd.toFixed(2)})` });
        break;
      case 'merge-started':
        marks.push({ at, label: `merge queue ${event.resumed ? 'continues' : 'starts'} on ${event.branch}` });
        break;
      case 'merge-check':
        marks.push({ at, label: `merge check ${event.passed ? 'passed' : 'failed'} after ${event.taskIds.join(', ')}` });
        break;
      case 'merge-finished':
        marks.push({ at, label: `merge queue ${event.status}` });
        break;
      case 'refs-restored':
        if (event.changes.length > 0)
          marks.push({ at, label: `${event.taskId} (attempt ${event.attempt}): refs outside its branch put back by the refs guard` });
        break;
      case 'run-started':
      case 'task-worker':
      case 'task-activity':
      case 'warning':
      case 'ahead-failed':
      case 'merge-status':
      case 'merge-resolve':
      case 'merge-into':
        break;
    }
  }
  for (const taskId of [...open.keys()]) close(taskId, end);

  const summary = summarize(registry, end);
  const byId = new Map(summary.tasks.map((task) => [task.id, task]));
  return {
    run: {
      id: run.id,
      status: run.status,
      exitCode: run.exitCode,
      reason: run.reason,
      baseRef: run.baseRef,
      baseSha: run.baseSha,
      mode: run.mode,
      modeReason: run.modeReason,
      maxCostUsd: budgetOf(registry),
    },
    start,
    end,
    tasks: registry.tasks.map((task) => ({
      id: task.id,
      title: task.title,
      status: task.status,
      reason: task.reason,
      branch: task.branch,
      dependsOn: task.dependsOn,
      builtOn: task.builtOn ?? [],
      files: task.files,
      commits: task.commits.length,
      turns: task.turns,
      costUsd: task.costUsd,
      durationMs: byId.get(task.id)?.durationMs ?? 0,
      merge: task.merge?.status,
      attempts: task.attemptLog.map((attempt) => ({
        number: attempt.number,
        kind: attempt.kind,
        start: clip(time(attempt.startedAt)),
        end: clip(attempt.finishedAt ? time(attempt.finishedAt) : end),
        outcome: attempt.outcome ?? (live ? 'running' : 'interrupted'),
        reason: attempt.reason,
        turns: attempt.turns,
        costUsd: attempt.costUsd,
        worker: attempt.worker ? `${attempt.worker.name} (${attempt.worker.host})` : undefined,
      })),
      // A wait ends at the latest when an attempt starts (a ledger cut short may lack the running line).
      waits: (waits.get(task.id) ?? [])
        .map((wait) => {
          const next = task.attemptLog.map((attempt) => time(attempt.startedAt)).filter((started) => started >= wait.start);
          return { ...wait, end: Math.min(wait.end, ...next) };
        })
        .filter((wait) => wait.end > wait.start),
    })),
    sessions: run.sessions.map((session, index) => {
      const last = index === run.sessions.length - 1;
      const sessionEnd = session.finishedAt ?? (last && live ? new Date(now).toISOString() : (session.lastAliveAt ?? session.startedAt));
      return { start: clip(time(session.startedAt)), end: clip(time(sessionEnd)) };
    }),
    pauses,
    limits,
    marks,
    conflicts: run.conflicts,
    summary,
  };
}

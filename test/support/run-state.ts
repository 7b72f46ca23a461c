import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { StampedEvent } from '../../src/events.js';
import type { Registry } from '../../src/state/registry.js';
import { listRunIds } from '../../src/state/runs.js';

/** Run ids as orch lists them (runs still being put together are hidden). */
export function runIds(repo: string): Promise<string[]> {
  return listRunIds(repo);
}

export async function onlyRunId(repo: string): Promise<string> {
  const ids = await runIds(repo);
  if (ids.length !== 1) throw new Error(`expected one run, found ${ids.length}`);
  return ids[0]!;
}

export async function readRunRegistry(repo: string, runId?: string): Promise<Registry> {
  const id = runId ?? (await onlyRunId(repo));
  return JSON.parse(await readFile(path.join(repo, '.gadugi', 'runs', id, 'registry.json'), 'utf8')) as Registry;
}

export async function readLedger(repo: string, runId?: string): Promise<StampedEvent[]> {
  const id = runId ?? (await onlyRunId(repo));
  const text = await readFile(path.join(repo, '.gadugi', 'runs', id, 'events.ndjson'), 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as StampedEvent);
}

export interface Interval {
  taskId: string;
  start: number;
  end: number;
  status: string;
}

/** Every agent attempt as [seq it started running, seq it stopped], from the ledger. */
export function runIntervals(ledger: readonly StampedEvent[]): Interval[] {
  const open = new Map<string, number>();
  const intervals: Interval[] = [];
  for (const event of ledger) {
    if (event.type !== 'task-status') continue;
    if (event.status === 'running') open.set(event.taskId, event.seq);
    else if (open.has(event.taskId)) {
      intervals.push({ taskId: event.taskId, start: open.get(event.taskId)!, end: event.seq, status: event.status });
      open.delete(event.taskId);
    }
  }
  for (const [taskId, start] of open) intervals.push({ taskId, start, end: Number.POSITIVE_INFINITY, status: 'running' });
  return intervals;
}

export function overlaps(a: Interval, b: Interval): boolean {
  return a.start < b.end && b.start < a.end;
}

/** The seq at which a task reached a status (the first time). */
export function seqOf(ledger: readonly StampedEvent[], taskId: string, status: string): number {
  const event = ledger.find((candidate) => candidate.type === 'task-status' && candidate.taskId === taskId && candidate.status === status);
  if (!event) throw new Error(`${taskId} never became ${status}`);
  return event.seq;
}

/** The most attempts running at once, swept over the ledger's sequence numbers. */
export function maxConcurrency(intervals: readonly Interval[]): number {
  let peak = 0;
  for (const interval of intervals) {
    const open = intervals.filter((other) => other.start <= interval.start && interval.start < other.end).length;
    peak = Math.max(peak, open);
  }
  return peak;
}

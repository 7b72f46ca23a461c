import type { WaitReason } from '../domain/waiting.js';
import { formatBudget, formatCost } from './format.js';

/** A time people read at a glance: "14:02" today, "Nov 25 14:02" on another day. */
export function shortTime(iso: string, now: number = Date.now()): string {
  const date = new Date(iso);
  const hhmm = date.toTimeString().slice(0, 5);
  if (date.toDateString() === new Date(now).toDateString()) return hhmm;
  return `${date.toLocaleDateString('en-US', { month: 'short', day: 'numeric' })} ${hhmm}`;
}

/** Why a task waits, in the words the dashboard, `orch status` and the report use. */
export function describeWait(reason: WaitReason, now: number = Date.now()): string {
  switch (reason.kind) {
    case 'dependency':
      return `waits for ${reason.on.join(', ')}`;
    case 'retry':
      return `retry at ${shortTime(reason.at, now)}`;
    case 'conflict':
      return `conflicts with ${reason.with} (${reason.files.join(', ')})`;
    case 'limit':
      return `limit ${reason.limit} reached`;
    case 'api-pause':
      return `API pause until ${shortTime(reason.until, now)}`;
    case 'usage-limit':
      return reason.stopped
        ? `usage limit: resets at ${shortTime(reason.until, now)}, beyond --max-wait`
        : `usage limit: resumes at ${shortTime(reason.until, now)}`;
    case 'budget':
      return `budget (${formatCost(reason.costUsd)} of ${formatBudget(reason.maxCostUsd)} spent)`;
    case 'stopping':
      return 'not started: the run is stopping';
    case 'ready':
      return 'starting';
  }
}

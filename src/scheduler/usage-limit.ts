/**
 * A plan's usage limit (a subscription's five-hour or weekly window), shared by the whole run.
 * Unlike a short 429, it has a known reset time: waiting with an exponential backoff would only
 * spend attempts. So:
 * - `rejected` with a reset: no new starts until the reset (one pause, not a backoff); a reset
 *   further away than `maxWaitMs` stops the run instead (resumable);
 * - `allowed_warning` (close to the limit): no more agents than run now, until the reset.
 * Pure: state in, state and action out; time is a parameter.
 */

export interface UsageSignal {
  status: 'rejected' | 'allowed_warning';
  /** When the limit resets, ms since epoch. */
  resetsAt?: number | undefined;
  limitType?: string | undefined;
}

export interface UsageState {
  /** New starts wait until then (ms since epoch). */
  pausedUntil?: number | undefined;
  limitType?: string | undefined;
  /** After a warning: at most this many agents until `capUntil`. */
  cap?: number | undefined;
  capUntil?: number | undefined;
}

export type UsageAction =
  /** Nothing changes (already paused that long, the same warning again, a reset already past). */
  | { kind: 'none' }
  /** A rejection without a reset time: nothing to wait for but pressure, like a 429. */
  | { kind: 'pressure' }
  /** New starts wait until `until`. */
  | { kind: 'pause'; until: number }
  /** The reset is beyond --max-wait: admit nothing more, let running tasks finish, end resumable. */
  | { kind: 'stop'; until: number }
  /** Close to the limit: at most `value` agents until `until`. */
  | { kind: 'cap'; value: number; until: number };

/** The state as it stands at `now`: a pause or a cap whose reset has passed is gone. */
export function usageNow(state: UsageState, now: number): UsageState {
  const current: UsageState = {};
  if (state.pausedUntil !== undefined && state.pausedUntil > now) current.pausedUntil = state.pausedUntil;
  if (state.cap !== undefined && state.capUntil !== undefined && state.capUntil > now) {
    current.cap = state.cap;
    current.capUntil = state.capUntil;
  }
  if ((current.pausedUntil !== undefined || current.cap !== undefined) && state.limitType !== undefined)
    current.limitType = state.limitType;
  return current;
}

/** What a usage-limit report means for the run, given how many agents run now. */
export function usageDecision(
  previous: UsageState,
  signal: UsageSignal,
  now: number,
  running: number,
  maxWaitMs: number,
): { state: UsageState; action: UsageAction } {
  const state = usageNow(previous, now);
  if (signal.resetsAt === undefined) return { state, action: signal.status === 'rejected' ? { kind: 'pressure' } : { kind: 'none' } };
  const until = signal.resetsAt;
  if (until <= now) return { state, action: { kind: 'none' } };
  const limitType = signal.limitType ?? state.limitType;
  if (signal.status === 'rejected') {
    if (until - now > maxWaitMs) return { state: { ...state, pausedUntil: until, limitType }, action: { kind: 'stop', until } };
    if (state.pausedUntil !== undefined && state.pausedUntil >= until) return { state, action: { kind: 'none' } };
    return { state: { ...state, pausedUntil: until, limitType }, action: { kind: 'pause', until } };
  }
  // A warning comes with every response while it lasts: the first one of a window sets the cap.
  if (state.cap !== undefined && state.capUntil === until) return { state, action: { kind: 'none' } };
  const value = Math.max(1, running);
  return { state: { ...state, cap: value, capUntil: until, limitType }, action: { kind: 'cap', value, until } };
}

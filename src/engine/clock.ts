/**
 * Time as the engine sees it. The real clock in production; tests pass a fake one and move it
 * by hand, so retry backoffs, API pauses and heartbeats are tested without waiting.
 */
export interface Clock {
  now(): number;
  /** Calls `callback` once after `ms`; returns what cancels it. */
  after(ms: number, callback: () => void): () => void;
  /** Calls `callback` every `ms` until cancelled. */
  every(ms: number, callback: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  after: (ms, callback) => {
    const timer = setTimeout(callback, ms);
    return () => clearTimeout(timer);
  },
  every: (ms, callback) => {
    const timer = setInterval(callback, ms);
    return () => clearInterval(timer);
  },
};

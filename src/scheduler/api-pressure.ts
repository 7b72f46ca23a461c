import { PRESSURE_STATUSES } from '../domain/vocabulary.js';

export interface PressureConfig {
  backoffBase: number;
  backoffMax: number;
  quietPeriod: number;
}

export interface Pause {
  until: number;
  delayMs: number;
  level: number;
}

/**
 * API pressure shared by the whole run. A 429 or 529 (seen live in an agent's `api_retry`
 * events, or in a failed result) pauses new starts for a window that doubles with repeated
 * pressure (with jitter, never shorter than a known retry-after) and steps back down after each
 * quiet period without pressure once the pause is over. Time and randomness are injected, so the policy is testable.
 */
export class ApiPressure {
  private level = 0;
  private lastSignalAt = Number.NEGATIVE_INFINITY;
  private pausedUntil = 0;

  constructor(
    private readonly config: PressureConfig,
    private readonly random: () => number = Math.random,
  ) {}

  isPaused(now: number): boolean {
    return now < this.pausedUntil;
  }

  get until(): number {
    return this.pausedUntil;
  }

  /** Records pressure; returns the new pause when it starts or lengthens one. */
  signal(status: number, now: number, retryAfterMs?: number): Pause | undefined {
    if (!PRESSURE_STATUSES.has(status)) return undefined;
    // Quiet time counts from the end of the last pause: during a pause nothing new starts, so
    // the absence of pressure then proves nothing.
    const quietPeriods = Math.floor((now - Math.max(this.lastSignalAt, this.pausedUntil)) / this.config.quietPeriod);
    if (Number.isFinite(quietPeriods) && quietPeriods > 0) this.level = Math.max(0, this.level - quietPeriods);
    this.lastSignalAt = now;
    if (this.isPaused(now)) {
      // Agents report the same burst one after another: it does not raise the level again,
      // but a longer retry-after is honoured.
      if (retryAfterMs === undefined || now + retryAfterMs <= this.pausedUntil) return undefined;
      this.pausedUntil = now + retryAfterMs;
      return { until: this.pausedUntil, delayMs: retryAfterMs, level: this.level };
    }
    this.level += 1;
    const ceiling = Math.min(this.config.backoffMax, this.config.backoffBase * 2 ** (this.level - 1));
    // "Equal jitter": half the window fixed, half random, so agents do not return in lockstep.
    const delayMs = Math.max(Math.round(ceiling / 2 + (this.random() * ceiling) / 2), retryAfterMs ?? 0);
    this.pausedUntil = now + delayMs;
    return { until: this.pausedUntil, delayMs, level: this.level };
  }
}

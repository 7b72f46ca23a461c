import type { OrchConfig } from '../config/schema.js';
import type { OrchEvent } from '../events.js';
import type { ConcurrencyLimit } from '../scheduler/limiter.js';
import { usageDecision, usageNow, type UsageSignal, type UsageState } from '../scheduler/usage-limit.js';
import type { WaitingInput } from '../scheduler/waiting.js';
import type { Registry } from '../state/registry.js';
import { formatDuration } from '../util/duration.js';

/** Why the run admits nothing more while its running tasks finish. */
export type Halt =
  { kind: 'budget'; message: string; maxCostUsd: number; costUsd: number } | { kind: 'usage-limit'; message: string; until: number };

/** What a usage-limit report changed: an event to record, or pressure to feel like a 429. */
export type UsageOutcome = { kind: 'none' } | { kind: 'pressure' } | { kind: 'event'; event: OrchEvent };

/**
 * The account's limits as one run feels them: a plan's usage limit (a pause until its reset, a cap
 * after a warning, a stop when the reset is beyond --max-wait) and the run's budget. The decisions
 * are the pure ones of scheduler/usage-limit.ts; this keeps their state, mirrors it into the
 * registry (`run.usageLimit`, `run.halted`) and says which event to record. Time is a parameter.
 */
export class AccountLimits {
  private usage: UsageState = {};
  private halted: Halt | undefined;

  constructor(
    private readonly registry: Registry,
    private readonly config: OrchConfig,
  ) {}

  /** Why the run admits nothing more, if it does not. */
  get halt(): Halt | undefined {
    return this.halted;
  }

  /** A resumed run: the pause or cap its registry kept; a halt is decided again. */
  restore(now: number): UsageSignal | undefined {
    delete this.registry.run.halted;
    const saved = this.registry.run.usageLimit;
    if (!saved) return undefined;
    const parse = (iso: string | undefined): number | undefined => (iso === undefined ? undefined : Date.parse(iso));
    this.usage = usageNow(
      { pausedUntil: parse(saved.pausedUntil), limitType: saved.limitType, cap: saved.cap, capUntil: parse(saved.capUntil) },
      now,
    );
    const paused = this.usage.pausedUntil;
    this.usage = { ...this.usage, pausedUntil: undefined };
    // The inherited pause is applied again: it may now be beyond --max-wait.
    return paused === undefined ? undefined : { status: 'rejected', resetsAt: paused, limitType: this.usage.limitType };
  }

  /** The usage-limit state at `now` (an ended pause or cap is gone). */
  usageAt(now: number): UsageState {
    return usageNow(this.usage, now);
  }

  /** A plan's usage limit seen in an agent's stream or result, with `running` agents now. */
  usageSignal(signal: UsageSignal, now: number, running: number): UsageOutcome {
    const { state, action } = usageDecision(this.usage, signal, now, running, this.config.api.maxWait);
    this.usage = state;
    this.save(now);
    if (action.kind === 'none' || action.kind === 'pressure') return action;
    const resetsAt = new Date(action.until).toISOString();
    const event: OrchEvent = { type: 'usage-limit', status: signal.status, resetsAt, action: action.kind };
    if (state.limitType) event.limitType = state.limitType;
    if (action.kind === 'cap') event.limit = action.value;
    if (action.kind === 'stop' && !this.halted) {
      const message = `the ${state.limitType ? `${state.limitType} ` : ''}usage limit resets at ${resetsAt}, in ${formatDuration(action.until - now)}, later than --max-wait (${formatDuration(this.config.api.maxWait)}): no new task starts; \`orch resume ${this.registry.run.id}\` continues after the reset`;
      this.halted = { kind: 'usage-limit', message, until: action.until };
      this.registry.run.halted = { kind: 'usage-limit', message };
    }
    return { kind: 'event', event };
  }

  /** Mirrors the usage-limit state into the registry (it rides along with the next write). */
  save(now: number): void {
    const usage = usageNow(this.usage, now);
    if (usage.pausedUntil === undefined && usage.cap === undefined) {
      delete this.registry.run.usageLimit;
      return;
    }
    const iso = (time: number | undefined): string | undefined => (time === undefined ? undefined : new Date(time).toISOString());
    const saved: NonNullable<Registry['run']['usageLimit']> = {};
    if (usage.pausedUntil !== undefined) saved.pausedUntil = iso(usage.pausedUntil);
    if (usage.limitType !== undefined) saved.limitType = usage.limitType;
    if (usage.cap !== undefined) saved.cap = usage.cap;
    if (usage.capUntil !== undefined) saved.capUntil = iso(usage.capUntil);
    this.registry.run.usageLimit = saved;
  }

  /** The concurrency limit with the usage limit applied: paused (no more than run now), or capped. */
  limit(computed: ConcurrencyLimit, running: number, now: number): ConcurrencyLimit {
    const usage = usageNow(this.usage, now);
    if (usage.pausedUntil !== undefined) return { value: Math.max(1, running), reason: 'usage-limit' };
    if (usage.cap !== undefined && usage.cap < computed.value) return { value: usage.cap, reason: 'usage-warning' };
    return computed;
  }

  /** The cost recorded so far: every finished attempt's, as the CLI reported it. */
  recordedCost(): number {
    return this.registry.tasks.reduce((total, task) => total + (task.costUsd ?? 0), 0);
  }

  /** What is left of the run's budget, if it has one. */
  budgetLeft(): number | undefined {
    const max = this.config.budget.maxCostUsd;
    return max === null ? undefined : max - this.recordedCost();
  }

  budgetReached(): boolean {
    const left = this.budgetLeft();
    return left !== undefined && left <= 0;
  }

  /** Once the recorded cost reaches the budget, the run admits nothing more: the event to record. */
  checkBudget(): OrchEvent | undefined {
    const max = this.config.budget.maxCostUsd;
    if (max === null || this.halted) return undefined;
    const cost = this.recordedCost();
    if (cost < max) return undefined;
    const message = `the budget of $${max.toFixed(2)} is reached ($${cost.toFixed(4)} recorded): no new task starts; \`orch resume ${this.registry.run.id} --max-cost <more>\` continues`;
    this.halted = { kind: 'budget', message, maxCostUsd: max, costUsd: cost };
    this.registry.run.halted = { kind: 'budget', message };
    return { type: 'budget', costUsd: cost, maxCostUsd: max };
  }

  /** The halt as the waiting reasons need it. */
  waitingHalt(): WaitingInput['halted'] {
    const halt = this.halted;
    if (halt?.kind === 'budget') return { kind: 'budget', maxCostUsd: halt.maxCostUsd, costUsd: halt.costUsd };
    if (halt?.kind === 'usage-limit') return { kind: 'usage-limit', until: halt.until };
    return undefined;
  }
}

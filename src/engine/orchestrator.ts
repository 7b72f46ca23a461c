import type { OrchConfig } from '../config/schema.js';
import { EXIT } from '../domain/exit-codes.js';
import { UserError, errorMessage } from '../errors.js';
import type { MergeSummary, OrchEvent, TaskStatusEvent } from '../events.js';
import type { Outcome } from '../agent/outcome.js';
import type { AttemptResult, AttemptUpdate, Executor, StopReason } from '../executor/types.js';
import type { ConflictIndex } from '../graph/conflicts.js';
import { aheadOfTime } from '../scheduler/ahead.js';
import { ApiPressure } from '../scheduler/api-pressure.js';
import { computeLimit, workersLimit, type ConcurrencyLimit } from '../scheduler/limiter.js';
import { blockedTasks, freesSlotAtExit, pickReady, type SchedulableTask } from '../scheduler/policy.js';
import type { ResourceSample, Sampler } from '../scheduler/sampler.js';
import type { UsageSignal } from '../scheduler/usage-limit.js';
import { sameWait, waitingReasons } from '../scheduler/waiting.js';
import { runEndPayload, taskEndPayload, type HookRunner } from '../hooks/hooks.js';
import type { Registry } from '../state/registry.js';
import { AccountLimits } from './account-limits.js';
import type { AttemptRecord, TaskRecord } from '../state/registry.js';
import type { RunStore } from '../state/store.js';
import { applyUpdate, attemptSpec, newAttempt, recordResult, type AttemptRequest } from './attempt-record.js';
import { breakerAfterAttempt } from './breaker.js';
import { systemClock, type Clock } from './clock.js';
import type { Integrator } from './integrator.js';
import { decideAttempt } from './decide.js';
import { fallbackCandidates } from './fallback.js';
import { pendingRanks } from './history.js';
import { RETRY_NOTE } from './resume-plan.js';
import { runEnding, summarize } from './summary.js';
import { markAttemptEnded, markPending, markRunning, markSkipped } from './transitions.js';

export interface OrchestratorDeps {
  store: RunStore;
  config: OrchConfig;
  conflicts: ConflictIndex;
  executor: Executor;
  sampler: Sampler;
  clock?: Clock;
  random?: () => number;
  /** The user's notification hooks (`hooks.onTaskEnd`, `hooks.onRunEnd`), if any. */
  hooks?: HookRunner | undefined;
  /** `run --merge`: integrates tasks as they succeed. */
  integrator?: Integrator | undefined;
  /** `run --workers`: attempts run on the workers, as many at once as their slots allow (not this machine's). */
  capacity?: Capacity | undefined;
  /** What each task id took when it last succeeded in an earlier run of the repository: ranks ready tasks by critical path. */
  earlier?: ReadonlyMap<string, number> | undefined;
}

/** How many attempts the workers can take at once: refreshed on the sampling timer. */
export interface Capacity {
  refresh(): Promise<void>;
  slots(): number;
}

export interface RunOutcome {
  exitCode: number;
  /** Set when the run was aborted by its environment (a full disk, claude not logged in). */
  error?: UserError;
  /** Set when the run was aborted by a bug in orch: its stack trace is worth printing. */
  internalError?: Error;
  /** Things to say after the run's end that its ledger could no longer hold (an onRunEnd hook that failed). */
  warnings?: string[];
  /** Why the run stopped before its end on purpose (a usage limit beyond --max-wait, the budget): what `orch resume` needs. */
  paused?: string;
}

/** An attempt under way: what stops it. */
interface Active {
  stop: AbortController;
  kill: AbortController;
  /** Its agent has exited (the executor said so): what is left is saving its work, which takes no agent slot. */
  exited?: boolean;
}

/**
 * Runs a run's tasks to the end. It admits ready tasks within a concurrency limit that follows
 * the machine and the API, hands each attempt to the executor, applies the retry policy, switches
 * to one task at a time when parallel runs keep failing, re-runs those failures in a sequential
 * fallback pass, and records every transition through the store (registry, ledger, event).
 * Time comes from the clock and attempts from the executor, so all of this runs in-process in tests.
 */
export class Orchestrator {
  private readonly active = new Map<string, Active>();
  private readonly api: ApiPressure;
  private readonly clock: Clock;
  private sample: ResourceSample | undefined;
  private interrupted = false;
  private abortError: UserError | undefined;
  private internalError: Error | undefined;
  private ticking = false;
  private tickAgain = false;
  private finishing = false;
  private fallbackDone = false;
  private consecutiveParallelFailures = 0;
  private readonly cancelTimers: Array<() => void> = [];
  private cancelWake: (() => void) | undefined;
  private lastLimit: ConcurrencyLimit | undefined;
  /** The tasks last handed to the executor to prepare ahead of time (ids, joined). */
  private lastAhead = '';
  /** Counts the lists worked out: a list waiting for its pass's admissions applies only if no newer one came since. */
  private aheadSeq = 0;
  private readonly limits: AccountLimits;
  private readonly taskHooks = new Set<Promise<void>>();
  private readonly lateWarnings: string[] = [];
  private resolveDone!: (outcome: RunOutcome) => void;
  private readonly done = new Promise<RunOutcome>((resolve) => {
    this.resolveDone = resolve;
  });

  constructor(private readonly deps: OrchestratorDeps) {
    this.clock = deps.clock ?? systemClock;
    this.api = new ApiPressure(deps.config.api, deps.random);
    this.limits = new AccountLimits(deps.store.registry, deps.config);
  }

  private get store(): RunStore {
    return this.deps.store;
  }

  private get config(): OrchConfig {
    return this.deps.config;
  }

  private get stopping(): boolean {
    return this.interrupted || this.abortError !== undefined;
  }

  /** The run's registry as it is now (for renderers to read: the engine is its only writer). */
  registry(): Registry {
    return this.store.registry;
  }

  /** Runs until every task is finished (or the run is stopped); `adopted` are agents already running. */
  async run(adopted: AttemptRequest[] = [], warnings: readonly string[] = []): Promise<RunOutcome> {
    this.fallbackDone = this.store.tasks.some((task) => task.attemptLog.some((attempt) => attempt.kind === 'fallback'));
    const inherited = this.limits.restore(this.clock.now());
    for (const message of warnings) await this.record({ type: 'warning', message });
    await this.checkBudget();
    if (inherited) await this.usageSignal(inherited);
    await this.resample();
    this.cancelTimers.push(this.clock.every(this.config.heartbeat.interval, () => this.heartbeat()));
    this.cancelTimers.push(this.clock.every(this.config.concurrency.sampleInterval, () => void this.resample().then(() => this.kick())));
    // Resumed with --merge: what succeeded while nobody integrated it goes first.
    this.deps.integrator?.integrate();
    for (const request of adopted) {
      this.active.set(request.task.id, { stop: new AbortController(), kill: new AbortController() });
      this.drive(request).catch((error: unknown) => this.fail(error));
    }
    this.kick();
    return this.done;
  }

  /** Ctrl-C: admit nothing more, stop every agent (SIGTERM, then SIGKILL after the grace period). */
  interrupt(): void {
    if (!this.stopping) this.recordStopping('interrupt');
    this.interrupted = true;
    this.stopAll('user');
    this.kick();
  }

  /** A second Ctrl-C: SIGKILL every agent's process group now. */
  killNow(): void {
    this.interrupted = true;
    this.stopAll('user');
    for (const { kill } of this.active.values()) kill.abort();
  }

  /** Stops the run because the environment failed it (the agents are stopped like on Ctrl-C). */
  abort(error: UserError): void {
    if (!this.stopping) this.recordStopping('abort', error.message);
    this.abortError ??= error;
    this.stopAll('abort');
    this.kick();
  }

  /** When the run began to stop, on record (a full disk that made it stop may refuse this too). */
  private recordStopping(reason: 'interrupt' | 'abort', message?: string): void {
    if (this.finishing) return;
    const event: OrchEvent = { type: 'stopping', reason, running: this.active.size };
    if (message) event.message = message;
    this.record(event).catch(() => undefined);
  }

  /** API pressure seen live in an agent's stream, or in a failed result. */
  apiSignal(status: number, retryAfterMs?: number): void {
    const pause = this.api.signal(status, this.clock.now(), retryAfterMs);
    if (!pause) return;
    const pausedUntil = new Date(pause.until).toISOString();
    this.store.run.apiPausedUntil = pausedUntil;
    this.record({ type: 'api-pressure', status, pausedForMs: pause.delayMs, pausedUntil, level: pause.level })
      .then(() => this.kick())
      .catch((error: unknown) => this.fail(error));
  }

  /** A plan's usage limit seen live in an agent's stream, or in a failed result. */
  async usageSignal(signal: UsageSignal): Promise<void> {
    const outcome = this.limits.usageSignal(signal, this.clock.now(), this.active.size);
    if (outcome.kind === 'pressure') this.apiSignal(429);
    if (outcome.kind !== 'event') return;
    await this.record(outcome.event);
    this.kick();
  }

  /** Once the recorded cost reaches the budget, the run admits nothing more. */
  private async checkBudget(): Promise<void> {
    const event = this.limits.checkBudget();
    if (event) await this.record(event);
  }

  private get halt(): AccountLimits['halt'] {
    return this.limits.halt;
  }

  private stopAll(reason: 'user' | 'abort'): void {
    // Nothing new starts: nothing more is made ahead of time (what is under way ends by itself).
    this.aheadSeq += 1;
    this.wishAhead([]);
    for (const { stop } of this.active.values()) if (!stop.signal.aborted) stop.abort(reason satisfies StopReason);
    this.deps.integrator?.stop(reason);
  }

  /** Every state change also says this orchestrator was alive then (where a session killed with kill -9 ends). */
  private async record(event: OrchEvent): Promise<void> {
    const session = this.store.run.sessions.at(-1);
    if (session) session.lastAliveAt = new Date(this.clock.now()).toISOString();
    await this.store.record(event);
    if (event.type === 'task-status' && (event.status === 'succeeded' || event.status === 'failed' || event.status === 'skipped')) {
      this.startTaskHook(this.store.task(event.taskId));
    }
  }

  /** `hooks.onTaskEnd`, in the background: the run goes on; a failure is recorded as a warning. */
  private startTaskHook(task: TaskRecord): void {
    const hooks = this.deps.hooks;
    if (!hooks) return;
    const running = hooks
      .run(taskEndPayload(this.store.run, task))
      .then((failure) => (failure ? this.record({ type: 'warning', message: failure }) : undefined))
      .catch(() => undefined)
      .finally(() => this.taskHooks.delete(running));
    this.taskHooks.add(running);
  }

  private async resample(): Promise<void> {
    try {
      if (this.deps.capacity) await this.deps.capacity.refresh();
      else this.sample = await this.deps.sampler();
    } catch (error) {
      this.fail(error);
    }
  }

  private heartbeat(): void {
    const now = new Date(this.clock.now()).toISOString();
    const run = this.store.run;
    run.heartbeatAt = now;
    const session = run.sessions.at(-1);
    if (session) session.lastAliveAt = now;
    for (const id of this.active.keys()) this.store.task(id).heartbeatAt = now;
    this.store.save().catch((error: unknown) => this.fail(error));
  }

  private kick(): void {
    // After the run-finished event nothing may change (a late sample or timer must not record).
    if (this.finishing) return;
    if (this.ticking) {
      this.tickAgain = true;
      return;
    }
    this.ticking = true;
    this.tick()
      .catch((error: unknown) => this.fail(error))
      .finally(() => {
        this.ticking = false;
        if (this.tickAgain) {
          this.tickAgain = false;
          this.kick();
        }
      });
  }

  /** A part of the run outside the engine failed (the merge queue): the run stops with it. */
  failWith(error: unknown): void {
    this.fail(error);
  }

  /** An error stops the run: the environment's with its one-line message, a bug as an internal error. */
  private fail(error: unknown): void {
    if (error instanceof UserError) {
      this.abort(error);
      return;
    }
    this.internalError ??= error instanceof Error ? error : new Error(String(error));
    this.abort(new UserError(`internal error: ${errorMessage(error)}`, EXIT.failed));
  }

  private schedulable(): SchedulableTask[] {
    const { ranks } = pendingRanks(this.store.tasks, this.deps.earlier ?? new Map(), this.deps.conflicts);
    return this.store.tasks.map((task) => ({
      id: task.id,
      status: task.status,
      dependsOn: task.dependsOn,
      priority: task.priority,
      order: task.order,
      retryAt: task.retryAt ? Date.parse(task.retryAt) : undefined,
      remaining: ranks.get(task.id),
    }));
  }

  /** The machine's limit (or an API pause's), with a plan's usage limit applied over it. */
  private currentLimit(now: number): ConcurrencyLimit {
    const agents = this.agents();
    if (this.api.isPaused(now)) return this.limits.limit({ value: Math.max(1, agents), reason: 'api' }, agents, now);
    const sequential = this.store.run.mode === 'sequential';
    if (this.deps.capacity)
      return this.limits.limit(
        workersLimit({ slots: this.deps.capacity.slots(), maxParallel: this.config.maxParallel, sequential }),
        agents,
        now,
      );
    const limit = computeLimit({
      sample: this.sample ?? { cores: 1, availableMemMb: Number.MAX_SAFE_INTEGER, loadPerCore: 0 },
      running: agents,
      concurrency: this.config.concurrency,
      maxParallel: this.config.maxParallel,
      sequential,
    });
    return this.limits.limit(limit, agents, now);
  }

  /**
   * The attempts that take one of the run's agent slots: all of them but those whose agent exited
   * and gave its slot up while its work is saved (see agentExited). In sequential mode every
   * attempt counts, from its start to its end: one task at a time.
   */
  private agents(): number {
    if (this.store.run.mode === 'sequential') return this.active.size;
    let count = 0;
    for (const active of this.active.values()) if (!active.exited) count += 1;
    return count;
  }

  /**
   * An attempt's agent is gone: its slot may go to the next task while its work is saved (see
   * freesSlotAtExit). The task itself stays running until then (what depends on it or conflicts
   * with it still waits for its end), and its cost is already counted.
   */
  private agentExited(id: string, outcome: Outcome['status']): void {
    const active = this.active.get(id);
    if (!active || active.exited) return;
    const sequential = this.store.run.mode === 'sequential';
    if (!freesSlotAtExit({ id, outcome, sequential }, this.schedulable(), this.deps.conflicts)) return;
    active.exited = true;
    this.kick();
  }

  private async tick(): Promise<void> {
    if (this.stopping) {
      if (this.active.size === 0) await this.finish();
      return;
    }
    await this.skipBlocked();
    await this.checkBudget();
    // A pause or a cap whose reset has passed leaves the registry with the next write.
    this.limits.save(this.clock.now());

    const now = this.clock.now();
    const limit = this.currentLimit(now);
    if (limit.value !== this.lastLimit?.value || limit.reason !== this.lastLimit.reason) {
      this.lastLimit = limit;
      this.store.run.limit = { value: limit.value, reason: limit.reason };
      await this.record({ type: 'limit', limit: limit.value, reason: limit.reason, running: this.active.size });
    }

    const usagePausedUntil = this.limits.usageAt(now).pausedUntil;
    const paused = this.api.isPaused(now) || usagePausedUntil !== undefined;
    const tasks = this.schedulable();
    const handedOver: Array<Promise<void>> = [];
    if (this.halt) {
      // Nothing new starts; running tasks finish.
    } else if (paused) this.wakeAt(Math.max(this.api.until, usagePausedUntil ?? 0));
    else {
      const ready = pickReady(tasks, new Set(this.active.keys()), limit.value - this.agents(), this.deps.conflicts, now);
      for (const id of ready) handedOver.push(this.launch(id));
    }
    // The next tasks to admit get their worktrees while these agents work (none once nothing new
    // starts), once the tasks admitted now are with the executor: they take the git lock first.
    const ahead = this.halt ? [] : aheadOfTime(tasks, new Set(this.active.keys()), limit.value);
    const seq = ++this.aheadSeq;
    if (handedOver.length === 0) this.wishAhead(ahead);
    else
      void Promise.all(handedOver).then(() => {
        if (seq === this.aheadSeq && !this.stopping && !this.finishing) this.wishAhead(ahead);
      });
    // Decided on what runs now: an attempt that ends while the reasons are recorded kicks another tick.
    const busy = this.active.size > 0;
    await this.updateWaiting(now, limit);
    if (busy) return;

    const pending = this.store.tasks.filter((task) => task.status === 'pending');
    if (pending.length === 0) {
      if (!this.halt && (await this.startFallbackPass())) this.kick();
      else await this.finish();
      return;
    }
    if (this.halt) {
      await this.finish();
      return;
    }
    if (paused) return;
    const nextRetry = Math.min(...pending.map((task) => (task.retryAt ? Date.parse(task.retryAt) : Number.POSITIVE_INFINITY)));
    if (Number.isFinite(nextRetry)) {
      this.wakeAt(nextRetry);
      return;
    }
    // No live worker takes the run's jobs: the next sample looks again.
    if (limit.value === 0) return;
    throw new Error(`no task can start but ${pending.map((task) => task.id).join(', ')} are pending`);
  }

  /**
   * Hands the executor the tasks whose worktrees it may make ahead of time, when the list changed.
   * Not with `worktree.ahead: false`, nor with the merge queue: there a new branch starts from
   * what is integrated when its task starts.
   */
  private wishAhead(ids: readonly string[]): void {
    const executor = this.deps.executor;
    if (!executor.prepareAhead || !this.config.worktree.ahead || this.deps.integrator) return;
    const key = ids.join('\n');
    if (key === this.lastAhead) return;
    this.lastAhead = key;
    executor.prepareAhead(
      ids.map((id) => {
        const task = this.store.task(id);
        return { id, branch: task.branch, worktree: task.worktree, baseSha: task.startSha ?? this.store.run.baseSha };
      }),
    );
  }

  /**
   * Works out why each pending task waits (see scheduler/waiting.ts), keeps it on the task, and
   * records the tasks whose reason changed as one `waiting` event.
   */
  private async updateWaiting(now: number, limit: ConcurrencyLimit | undefined = this.lastLimit): Promise<void> {
    const usage = this.limits.usageAt(now);
    const reasons = waitingReasons({
      tasks: this.store.tasks.map((task) => ({
        id: task.id,
        status: task.status,
        dependsOn: task.dependsOn,
        retryAt: task.retryAt ? Date.parse(task.retryAt) : undefined,
      })),
      running: new Set(this.active.keys()),
      agents: this.agents(),
      conflicts: this.store.run.conflicts,
      limit: limit ?? { value: 1, reason: 'cores' },
      apiPausedUntil: this.api.isPaused(now) ? this.api.until : undefined,
      usagePausedUntil: usage.pausedUntil,
      usageLimitType: usage.limitType,
      halted: this.limits.waitingHalt(),
      stopping: this.stopping,
      now,
    });
    const changes: Array<{ taskId: string; waiting: NonNullable<TaskRecord['waiting']> }> = [];
    for (const [id, reason] of reasons) {
      const task = this.store.task(id);
      if (sameWait(task.waiting, reason)) continue;
      task.waiting = reason;
      changes.push({ taskId: id, waiting: reason });
    }
    if (changes.length > 0) await this.record({ type: 'waiting', changes });
  }

  /** Wakes the scheduler at a given time (a retry's backoff or an API pause ending). */
  private wakeAt(time: number): void {
    this.cancelWake?.();
    this.cancelWake = this.clock.after(Math.max(0, time - this.clock.now()) + 5, () => this.kick());
  }

  /** Pending tasks whose dependency failed or was skipped will never run: skip them, with the reason. */
  private async skipBlocked(): Promise<void> {
    for (;;) {
      const blocked = blockedTasks(this.schedulable());
      if (blocked.size === 0) return;
      const now = new Date(this.clock.now()).toISOString();
      for (const [id, cause] of blocked) await this.record(markSkipped(this.store.task(id), this.store.task(cause), now));
    }
  }

  private async switchToSequential(reason: string): Promise<void> {
    if (this.store.run.mode === 'sequential') return;
    this.store.run.mode = 'sequential';
    this.store.run.modeReason = reason;
    await this.record({ type: 'mode', mode: 'sequential', reason });
  }

  /**
   * When everything else is done: tasks that failed while running in parallel get one more
   * attempt each, one at a time, and the dependents their failure skipped come back.
   */
  private async startFallbackPass(): Promise<boolean> {
    if (!this.config.fallback.enabled || this.fallbackDone) return false;
    const { retry, revive } = fallbackCandidates(this.store.tasks);
    if (retry.length === 0) return false;
    this.fallbackDone = true;
    await this.switchToSequential(
      `fallback pass: ${retry.length} task${retry.length === 1 ? '' : 's'} that failed while running in parallel run again, one at a time`,
    );
    for (const task of retry) {
      await this.record(markPending(task, { reason: 'sequential fallback', next: { kind: 'fallback', note: RETRY_NOTE(task.reason) } }));
    }
    for (const task of revive) await this.record(markPending(task, { reason: 'its dependency runs again in the sequential fallback' }));
    return true;
  }

  /**
   * Starts a pending task's next attempt. The status changes synchronously, so no tick starts it
   * twice. Settles once the attempt is in the executor's hands (or will never be).
   */
  private launch(id: string): Promise<void> {
    const task = this.store.task(id);
    const next = task.next;
    // Decided once, when the task's branch is made: the conflicting tasks that have succeeded by
    // now are merged into it first, so its edits to the same files come after theirs.
    if (task.builtOn === undefined) {
      task.builtOn = this.deps.conflicts
        .partnersOf(id)
        .filter((other) => !task.dependsOn.includes(other) && this.store.task(other).status === 'succeeded');
      // With --merge, a new branch starts from what is integrated so far, so it builds on it.
      const start = this.deps.integrator?.startPoint();
      if (start && start !== this.store.run.baseSha) task.startSha = start;
    }
    // Another agent is running now: this attempt runs in parallel, and so do they.
    const attempt = newAttempt(task, next?.kind ?? 'fresh', this.clock.now(), this.active.size > 0);
    if (attempt.parallel) {
      for (const other of this.active.keys()) {
        const current = this.store.task(other).attemptLog.at(-1);
        if (current) current.parallel = true;
      }
    }
    const started = markRunning(task, attempt);
    this.active.set(id, { stop: new AbortController(), kill: new AbortController() });
    const request: AttemptRequest = { task, attempt, note: next?.note, resumeSessionId: next?.resumeSessionId };
    let handedOver!: () => void;
    const handed = new Promise<void>((resolve) => (handedOver = resolve));
    this.drive(request, started, handedOver)
      .catch((error: unknown) => this.fail(error))
      .finally(handedOver);
    return handed;
  }

  /**
   * Runs one attempt through the executor and records how it ended. `started` is the running
   * event of a new attempt (an adopted agent's attempt was recorded by the orchestrator that died).
   */
  private async drive(request: AttemptRequest, started?: TaskStatusEvent, handedOver?: () => void): Promise<void> {
    const { task, attempt } = request;
    let result: AttemptResult;
    try {
      // The start is recorded while the executor prepares (worktree, setup): it starts the agent
      // only once the record is written (AttemptControl.recorded), so the registry write is off
      // the path from a free slot to a running agent.
      const recorded = started ? this.record(started) : undefined;
      recorded?.catch(() => undefined);
      result =
        started && this.stopping
          ? { outcome: { status: 'interrupted', reason: 'stopped before the agent started' } }
          : await this.execute(request, handedOver, recorded);
      await recorded;
    } catch (error) {
      // The start could not be recorded (a full disk): the run stops, and the task is not left running.
      this.fail(error);
      result = { outcome: { status: 'interrupted', reason: 'stopped before the agent started' } };
    }
    try {
      await this.complete(task, attempt, result);
    } catch (error) {
      // Stop before the next tick, so nothing new starts on a run that cannot record.
      this.fail(error);
    } finally {
      this.active.delete(task.id);
      this.kick();
    }
  }

  /** Hands the attempt to the executor; an attempt that cannot run is interrupted, and the run stops with the cause. */
  private async execute(request: AttemptRequest, handedOver?: () => void, recorded?: Promise<void>): Promise<AttemptResult> {
    const { task, attempt } = request;
    const active = this.active.get(task.id)!;
    try {
      const spec = await attemptSpec(this.store, this.config, request, this.limits.budgetLeft());
      const running = this.deps.executor.run(spec, {
        signal: active.stop.signal,
        kill: active.kill.signal,
        update: (update) => this.onUpdate(task, attempt, update),
        recorded,
      });
      // The executor has begun it (a local attempt has asked for the git lock by now).
      handedOver?.();
      return await running;
    } catch (error) {
      // A full disk while writing its prompt, a bug: the task must not stay `running`.
      this.fail(error);
      return { outcome: { status: 'interrupted', reason: `the attempt could not run: ${errorMessage(error)}` } };
    }
  }

  /** What the executor reports while an attempt runs. Never rejects: a failure to record stops the run. */
  private async onUpdate(task: TaskRecord, attempt: AttemptRecord, update: AttemptUpdate): Promise<void> {
    if (update.kind === 'api-retry') {
      this.apiSignal(update.status, update.retryDelayMs);
      return;
    }
    if (update.kind === 'usage-limit') {
      await this.usageSignal(update).catch((error: unknown) => this.fail(error));
      return;
    }
    if (update.kind === 'warning') {
      await this.record({ type: 'warning', message: `${task.id}: ${update.message}` }).catch((error: unknown) => this.fail(error));
      return;
    }
    const previousWorker = attempt.worker;
    applyUpdate(task, attempt, update, this.clock.now());
    try {
      if (update.kind === 'worker') {
        const event: OrchEvent = {
          type: 'task-worker',
          taskId: task.id,
          attempt: attempt.number,
          worker: update.worker.name,
          host: update.worker.host,
        };
        if (previousWorker && previousWorker.id !== update.worker.id) event.from = previousWorker.name;
        await this.record(event);
      } else if (update.kind === 'exited') this.agentExited(task.id, update.outcome);
      else if (update.kind === 'activity')
        this.store.notify({ type: 'task-activity', taskId: task.id, activity: update.activity, turns: task.turns ?? 0 });
      // The agent's identity must be on disk before anything else happens; the rest rides along.
      else if (update.kind === 'agent') await this.store.save();
      else if (update.kind === 'session') await this.store.save();
      // The job id is on disk before the job is queued: a resumed coordinator finds it there.
      else if (update.kind === 'job') await this.store.save();
      else if (update.kind === 'refs')
        await this.record({
          type: 'refs-restored',
          taskId: task.id,
          attempt: attempt.number,
          changes: update.changes,
          problems: update.problems,
        });
    } catch (error) {
      this.fail(error);
    }
  }

  private async complete(task: TaskRecord, attempt: AttemptRecord, result: AttemptResult): Promise<void> {
    const now = this.clock.now();
    const { outcome } = result;
    recordResult(task, attempt, result, now);
    const policy = {
      retries: this.config.retries.count,
      backoffMs: this.config.retries.backoff,
      apiRequeues: this.config.retries.apiRequeues,
    };
    const budgetReached = this.limits.budgetReached();
    const decision = decideAttempt(task, attempt, outcome, result.spawnError, policy, this.stopping, { budgetReached, now });

    if (outcome.status === 'failed' && outcome.failure === 'usage-limit' && outcome.resetsAt !== undefined) {
      await this.usageSignal({ status: 'rejected', resetsAt: outcome.resetsAt });
    } else if (outcome.status === 'failed' && outcome.apiStatus !== undefined) this.apiSignal(outcome.apiStatus);
    const breaker = breakerAfterAttempt(
      this.consecutiveParallelFailures,
      { outcome, parallel: attempt.parallel, spawnError: result.spawnError, stopping: this.stopping },
      { enabled: this.config.fallback.enabled, threshold: this.config.fallback.failureThreshold },
    );
    this.consecutiveParallelFailures = breaker.consecutiveFailures;
    if (breaker.failedInParallel) task.failedInParallel = true;
    if (breaker.switchToSequential) await this.switchToSequential(breaker.switchToSequential);

    const event = markAttemptEnded(task, attempt, decision, now);
    if (decision.status === 'succeeded') this.deps.integrator?.integrate();
    if (decision.status === 'failed' && decision.failure === 'not-logged-in') {
      this.abort(
        new UserError(
          `${decision.reason}: run \`claude\` once and log in, or set ANTHROPIC_API_KEY; then \`orch resume ${this.store.run.id}\`.`,
        ),
      );
    }
    await this.record(event);
    await this.checkBudget();
  }

  private async finish(): Promise<void> {
    if (this.finishing) return;
    this.finishing = true;
    try {
      await this.updateWaiting(this.clock.now());
    } catch {
      // A full disk: the run-finished record below says so.
    }
    // No git process made ahead of time outlives the run.
    this.wishAhead([]);
    await this.deps.executor.drain?.();
    // The merge queue ends first, with the heartbeat still going (its checks may take a while).
    let merge: MergeSummary | undefined;
    try {
      merge = await this.deps.integrator?.finish(this.stopping);
    } catch (error) {
      this.fail(error);
    }
    for (const cancel of this.cancelTimers) cancel();
    this.cancelWake?.();
    const run = this.store.run;
    const now = new Date(this.clock.now()).toISOString();
    const session = run.sessions.at(-1);
    if (session) {
      session.finishedAt = now;
      session.lastAliveAt = now;
    }
    // Task hooks still running finish first: their failures belong in the ledger, before its end.
    while (this.taskHooks.size > 0) await Promise.all([...this.taskHooks]);
    const summary = summarize(this.store.registry, this.clock.now());
    if (merge) summary.merge = merge;
    const { status, exitCode } = runEnding(summary.counts, this.interrupted, this.abortError?.exitCode, merge, this.halt !== undefined);
    if (this.abortError) run.reason = this.abortError.message;
    else if (this.halt && summary.counts.pending > 0) run.reason = this.halt.message;
    else delete run.halted;
    run.status = status;
    run.exitCode = exitCode;
    run.finishedAt = now;
    run.heartbeatAt = now;
    try {
      await this.record({ type: 'run-finished', status, exitCode, summary });
    } catch (error) {
      // The registry or the ledger cannot be written (a full disk): the last good registry stays; say so and stop.
      this.abortError ??= error instanceof UserError ? error : new UserError(errorMessage(error), EXIT.failed);
      if (!(error instanceof UserError)) this.internalError ??= error instanceof Error ? error : new Error(String(error));
      this.resolveDone(this.outcome(this.abortError.exitCode));
      return;
    }
    // The run has ended on record; a hook that fails now can only be said, not recorded.
    const failure = await this.deps.hooks?.run(runEndPayload(run, summary, exitCode));
    if (failure) this.lateWarnings.push(failure);
    this.resolveDone(this.outcome(exitCode));
  }

  private outcome(exitCode: number): RunOutcome {
    const outcome: RunOutcome = { exitCode };
    if (this.lateWarnings.length > 0) outcome.warnings = [...this.lateWarnings];
    if (exitCode === EXIT.paused && this.halt) outcome.paused = this.halt.message;
    if (this.abortError) outcome.error = this.abortError;
    if (this.internalError) outcome.internalError = this.internalError;
    return outcome;
  }
}

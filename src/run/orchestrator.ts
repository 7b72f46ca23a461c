import type { AttemptHandle, AttemptRequest, AttemptResult } from './attempt.js';
import type { OrchConfig } from '../config/schema.js';
import { UserError, errorMessage } from '../errors.js';
import type { ConflictIndex } from '../graph/conflicts.js';
import { ApiPressure } from '../scheduler/api-pressure.js';
import { computeLimit, type ConcurrencyLimit } from '../scheduler/limiter.js';
import { blockedTasks, pickReady, type SchedulableTask } from '../scheduler/policy.js';
import type { ResourceSample, Sampler } from '../scheduler/sampler.js';
import { attemptFileName } from '../state/paths.js';
import type { AttemptKind, AttemptRecord, TaskRecord } from '../state/registry.js';
import type { RunStore } from '../state/store.js';
import { RESOURCE_SPAWN_ERRORS, applyDecision, decideAttempt } from './decide.js';
import { fallbackCandidates } from './fallback.js';
import { RETRY_NOTE } from './resume-plan.js';
import { runEnding, summarize } from './summary.js';

export interface OrchestratorDeps {
  store: RunStore;
  config: OrchConfig;
  conflicts: ConflictIndex;
  startAttempt: (request: AttemptRequest) => AttemptHandle;
  sampler: Sampler;
  random?: () => number;
}

export interface RunOutcome {
  exitCode: number;
  /** Set when the run was aborted by an environment failure (a full disk, claude not logged in). */
  error?: UserError;
}

/**
 * Runs a run's tasks to the end. It admits ready tasks within a concurrency limit that follows
 * the machine and the API, drives each attempt, applies the retry policy, switches to one task
 * at a time when parallel runs keep failing, re-runs those failures in a sequential fallback
 * pass, and records every transition through the store (registry, ledger, event).
 */
export class Orchestrator {
  private readonly active = new Map<string, AttemptHandle | undefined>();
  private readonly api: ApiPressure;
  private sample: ResourceSample | undefined;
  private interrupted = false;
  private abortError: UserError | undefined;
  private ticking = false;
  private tickAgain = false;
  private finishing = false;
  private fallbackDone = false;
  private consecutiveParallelFailures = 0;
  private wakeTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private sampleTimer: NodeJS.Timeout | undefined;
  private lastLimit: ConcurrencyLimit | undefined;
  private resolveDone!: (outcome: RunOutcome) => void;
  private readonly done = new Promise<RunOutcome>((resolve) => {
    this.resolveDone = resolve;
  });

  constructor(private readonly deps: OrchestratorDeps) {
    this.api = new ApiPressure(deps.config.api, deps.random);
  }

  private get store(): RunStore {
    return this.deps.store;
  }

  private get config(): OrchConfig {
    return this.deps.config;
  }

  /** Runs until every task is finished (or the run is interrupted); `adopted` are already running. */
  async run(adopted: AttemptRequest[] = []): Promise<RunOutcome> {
    this.fallbackDone = this.store.tasks.some((task) => task.attemptLog.some((attempt) => attempt.kind === 'fallback'));
    await this.resample();
    this.heartbeatTimer = setInterval(() => this.heartbeat(), this.config.heartbeat.interval);
    this.sampleTimer = setInterval(() => void this.resample().then(() => this.kick()), this.config.concurrency.sampleInterval);
    for (const request of adopted) this.follow(request);
    this.kick();
    return this.done;
  }

  /** Ctrl-C: admit nothing more, stop every agent (SIGTERM, then SIGKILL after the grace period). */
  interrupt(): void {
    this.interrupted = true;
    for (const handle of this.active.values()) handle?.interrupt();
    this.kick();
  }

  /** A second Ctrl-C: SIGKILL every agent's process group now. */
  killNow(): void {
    this.interrupted = true;
    for (const handle of this.active.values()) handle?.killNow();
  }

  /** Stops the run because the environment failed it (the agents are stopped like on Ctrl-C). */
  abort(error: UserError): void {
    this.abortError ??= error;
    for (const handle of this.active.values()) handle?.interrupt();
    this.kick();
  }

  /** API pressure seen live in an agent's stream, or in a failed result. */
  apiSignal(status: number, retryAfterMs?: number): void {
    const pause = this.api.signal(status, Date.now(), retryAfterMs);
    if (!pause) return;
    this.store.run.apiPausedUntil = new Date(pause.until).toISOString();
    this.store
      .record({ type: 'api-pressure', status, pausedForMs: pause.delayMs, pausedUntil: this.store.run.apiPausedUntil, level: pause.level })
      .then(() => this.kick())
      .catch((error: unknown) => this.fail(error));
  }

  private async resample(): Promise<void> {
    try {
      this.sample = await this.deps.sampler();
    } catch (error) {
      this.fail(error);
    }
  }

  private heartbeat(): void {
    const now = new Date().toISOString();
    this.store.run.heartbeatAt = now;
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

  private fail(error: unknown): void {
    if (error instanceof UserError) this.abort(error);
    else this.abort(new UserError(`internal error: ${errorMessage(error)}`, 1));
  }

  private schedulable(): SchedulableTask[] {
    return this.store.tasks.map((task) => ({
      id: task.id,
      status: task.status,
      dependsOn: task.dependsOn,
      priority: task.priority,
      order: task.order,
      retryAt: task.retryAt ? Date.parse(task.retryAt) : undefined,
    }));
  }

  private currentLimit(now: number): ConcurrencyLimit {
    if (this.api.isPaused(now)) return { value: Math.max(1, this.active.size), reason: 'api' };
    return computeLimit({
      sample: this.sample ?? { cores: 1, availableMemMb: Number.MAX_SAFE_INTEGER, loadPerCore: 0 },
      running: this.active.size,
      concurrency: this.config.concurrency,
      maxParallel: this.config.maxParallel,
      sequential: this.store.run.mode === 'sequential',
    });
  }

  private async tick(): Promise<void> {
    if (this.interrupted || this.abortError) {
      if (this.active.size === 0) await this.finish();
      return;
    }
    await this.skipBlocked();

    const now = Date.now();
    const limit = this.currentLimit(now);
    if (limit.value !== this.lastLimit?.value || limit.reason !== this.lastLimit.reason) {
      this.lastLimit = limit;
      this.store.run.limit = { value: limit.value, reason: limit.reason };
      await this.store.record({ type: 'limit', limit: limit.value, reason: limit.reason, running: this.active.size });
    }

    const paused = this.api.isPaused(now);
    if (paused) this.wakeAt(this.api.until);
    else {
      const ready = pickReady(this.schedulable(), new Set(this.active.keys()), limit.value - this.active.size, this.deps.conflicts, now);
      for (const id of ready) this.launch(id);
    }
    if (this.active.size > 0) return;

    const pending = this.store.tasks.filter((task) => task.status === 'pending');
    if (pending.length === 0) {
      if (await this.startFallbackPass()) this.kick();
      else await this.finish();
      return;
    }
    if (paused) return;
    const nextRetry = Math.min(...pending.map((task) => (task.retryAt ? Date.parse(task.retryAt) : Number.POSITIVE_INFINITY)));
    if (Number.isFinite(nextRetry)) {
      this.wakeAt(nextRetry);
      return;
    }
    throw new Error(`no task can start but ${pending.map((task) => task.id).join(', ')} are pending`);
  }

  /** Wakes the scheduler at a given time (a retry's backoff or an API pause ending). */
  private wakeAt(time: number): void {
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = setTimeout(() => this.kick(), Math.max(0, time - Date.now()) + 5);
  }

  /** Pending tasks whose dependency failed or was skipped will never run: skip them, with the reason. */
  private async skipBlocked(): Promise<void> {
    for (;;) {
      const blocked = blockedTasks(this.schedulable());
      if (blocked.size === 0) return;
      for (const [id, cause] of blocked) {
        const task = this.store.task(id);
        const causeStatus = this.store.task(cause).status;
        task.status = 'skipped';
        task.skippedBecause = cause;
        task.reason = `dependency ${cause} ${causeStatus}`;
        task.finishedAt = new Date().toISOString();
        await this.store.record({
          type: 'task-status',
          taskId: id,
          status: 'skipped',
          previous: 'pending',
          attempt: task.attempts,
          reason: task.reason,
        });
      }
    }
  }

  private async switchToSequential(reason: string): Promise<void> {
    if (this.store.run.mode === 'sequential') return;
    this.store.run.mode = 'sequential';
    this.store.run.modeReason = reason;
    await this.store.record({ type: 'mode', mode: 'sequential', reason });
  }

  /**
   * When everything else is done: tasks that failed while running in parallel get one more
   * attempt each, one at a time, and the dependents their failure skipped come back.
   */
  private async startFallbackPass(): Promise<boolean> {
    if (!this.config.fallback.enabled || this.fallbackDone) return false;
    const { retry: candidates, revive: revived } = fallbackCandidates(this.store.tasks);
    if (candidates.length === 0) return false;
    this.fallbackDone = true;
    await this.switchToSequential(
      `fallback pass: ${candidates.length} task${candidates.length === 1 ? '' : 's'} that failed while running in parallel run again, one at a time`,
    );
    for (const task of candidates) {
      task.status = 'pending';
      task.next = { kind: 'fallback', note: RETRY_NOTE(task.reason) };
      task.reason = 'sequential fallback';
      delete task.finishedAt;
      await this.store.record({
        type: 'task-status',
        taskId: task.id,
        status: 'pending',
        previous: 'failed',
        attempt: task.attempts,
        reason: task.reason,
      });
    }
    for (const task of revived) {
      task.status = 'pending';
      task.reason = 'its dependency runs again in the sequential fallback';
      delete task.skippedBecause;
      delete task.finishedAt;
      await this.store.record({
        type: 'task-status',
        taskId: task.id,
        status: 'pending',
        previous: 'skipped',
        attempt: task.attempts,
        reason: task.reason,
      });
    }
    return true;
  }

  private newAttempt(task: TaskRecord, kind: AttemptKind): AttemptRecord {
    const number = task.attempts + 1;
    return {
      number,
      kind,
      startedAt: new Date().toISOString(),
      log: `logs/${attemptFileName(task.id, number, 'jsonl')}`,
      stderr: `logs/${attemptFileName(task.id, number, 'stderr')}`,
      prompt: `prompts/${attemptFileName(task.id, number, 'md')}`,
      // Another agent is running now: this attempt runs in parallel, and so do they.
      parallel: this.active.size > 0,
    };
  }

  /** Starts a pending task's next attempt. The status changes synchronously, so no tick starts it twice. */
  private launch(id: string): void {
    const task = this.store.task(id);
    const next = task.next;
    const attempt = this.newAttempt(task, next?.kind ?? 'fresh');
    if (attempt.parallel) {
      for (const other of this.active.keys()) {
        const current = this.store.task(other).attemptLog.at(-1);
        if (current) current.parallel = true;
      }
    }
    task.status = 'running';
    task.attempts = attempt.number;
    task.attemptLog.push(attempt);
    task.startedAt ??= attempt.startedAt;
    task.heartbeatAt = attempt.startedAt;
    delete task.finishedAt;
    delete task.retryAt;
    delete task.next;
    delete task.agent;
    this.active.set(id, undefined);
    const request: AttemptRequest = { task, attempt, note: next?.note, resumeSessionId: next?.resumeSessionId };
    this.drive(request, 'pending').catch((error: unknown) => this.fail(error));
  }

  private follow(request: AttemptRequest): void {
    this.active.set(request.task.id, undefined);
    this.drive(request, undefined).catch((error: unknown) => this.fail(error));
  }

  private async drive(request: AttemptRequest, previous: 'pending' | undefined): Promise<void> {
    const { task, attempt } = request;
    try {
      if (previous) {
        await this.store.record({
          type: 'task-status',
          taskId: task.id,
          status: 'running',
          previous,
          attempt: attempt.number,
          kind: attempt.kind,
          branch: task.branch,
        });
      }
      let result: AttemptResult;
      if (this.interrupted || this.abortError) {
        result = { outcome: { status: 'interrupted', reason: 'stopped before the agent started' } };
      } else {
        const handle = this.deps.startAttempt(request);
        this.active.set(task.id, handle);
        result = await handle.done;
      }
      await this.complete(task, attempt, result);
    } finally {
      this.active.delete(task.id);
      this.kick();
    }
  }

  private async complete(task: TaskRecord, attempt: AttemptRecord, result: AttemptResult): Promise<void> {
    const now = new Date().toISOString();
    const { outcome } = result;
    attempt.finishedAt = now;
    attempt.outcome = outcome.status;
    if (outcome.reason) attempt.reason = outcome.reason;
    task.agentMs = (task.agentMs ?? 0) + (Date.parse(now) - Date.parse(attempt.startedAt));
    const policy = {
      retries: this.config.retries.count,
      backoffMs: this.config.retries.backoff,
      apiRequeues: this.config.retries.apiRequeues,
    };
    const decision = decideAttempt(task, attempt, outcome, result.spawnError, policy, this.interrupted || this.abortError !== undefined);

    if (outcome.status === 'failed') {
      if (outcome.apiStatus !== undefined) this.apiSignal(outcome.apiStatus);
      if (result.spawnError && RESOURCE_SPAWN_ERRORS.has(result.spawnError)) {
        await this.switchToSequential(`the machine refused to start an agent (${result.spawnError})`);
      } else if (attempt.parallel && outcome.failure !== 'rate-limited' && !this.interrupted) {
        task.failedInParallel = true;
        this.consecutiveParallelFailures += 1;
        if (this.consecutiveParallelFailures >= this.config.fallback.failureThreshold) {
          await this.switchToSequential(`${this.consecutiveParallelFailures} tasks failed in a row while running in parallel`);
        }
      }
    } else if (outcome.status === 'succeeded') {
      this.consecutiveParallelFailures = 0;
    }

    const event = applyDecision(task, attempt, decision, now);
    if (decision.status === 'failed' && decision.failure === 'not-logged-in') {
      this.abort(
        new UserError(
          `${decision.reason}: run \`claude\` once and log in, or set ANTHROPIC_API_KEY; then \`orch resume ${this.store.run.id}\`.`,
        ),
      );
    }
    await this.store.record(event);
  }

  private async finish(): Promise<void> {
    if (this.finishing) return;
    this.finishing = true;
    for (const timer of [this.heartbeatTimer, this.sampleTimer]) if (timer) clearInterval(timer);
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    const run = this.store.run;
    const now = new Date().toISOString();
    const session = run.sessions.at(-1);
    if (session) session.finishedAt = now;
    const summary = summarize(this.store.registry);
    const { status, exitCode } = runEnding(summary.counts, this.interrupted, this.abortError?.exitCode);
    if (this.abortError) run.reason = this.abortError.message;
    run.status = status;
    run.exitCode = exitCode;
    run.finishedAt = now;
    run.heartbeatAt = now;
    try {
      await this.store.record({ type: 'run-finished', status, exitCode, summary });
    } catch (error) {
      // The registry cannot be written (a full disk): the last good one stays; say so and stop.
      this.abortError ??= error instanceof UserError ? error : new UserError(errorMessage(error), 1);
      this.resolveDone({ exitCode: this.abortError.exitCode, error: this.abortError });
      return;
    }
    this.resolveDone(this.abortError ? { exitCode, error: this.abortError } : { exitCode });
  }
}

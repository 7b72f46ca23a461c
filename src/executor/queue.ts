import { hostname } from 'node:os';
import type { OrchConfig } from '../config/schema.js';
import { errorFirstLine } from '../errors.js';
import { writeAttemptFiles } from '../worker/attempt.js';
import type { CoordinatorGit } from '../workers/coordinator-git.js';
import type { JobEnd, WorkersLink } from '../workers/coordinator.js';
import { JOB_VERSION, jobProgressSchema, jobResultSchema, type JobPayload, type JobResult } from '../workers/job.js';
import { jobIdFor } from '../workers/keys.js';
import { startRecorded, type AttemptControl, type AttemptResult, type AttemptSpec, type Executor } from './types.js';

/** How often a job's state is read besides the events (events can be missed while Redis restarts). */
const POLL_MS = 5000;
/** After a stop, how long beyond the kill grace a worker has to report before the attempt is given up as interrupted. */
const STOP_ANSWER_MS = 15_000;

interface Watch {
  ended: Promise<JobEnd | 'stopped'>;
  /** The job is in the queue from now on (or was, for a re-attached one). */
  queued: () => void;
  dispose: () => void;
}

function remoteFailure(reason: string): AttemptResult {
  return { outcome: { status: 'failed', failure: 'remote', reason } };
}

/**
 * Runs attempts on the workers (`run --workers`): each attempt becomes a BullMQ job that a
 * worker takes; its progress comes back as updates, its branch through the remote. Above this
 * seam nothing changes: an attempt still ends with the same result a local one has.
 */
export class QueueExecutor implements Executor {
  constructor(
    private readonly link: WorkersLink,
    private readonly git: CoordinatorGit,
    private readonly config: OrchConfig,
    private readonly runDir: string,
    private readonly baseSha: string,
  ) {}

  async run(spec: AttemptSpec, control: AttemptControl): Promise<AttemptResult> {
    if (spec.resolve || spec.adopt) throw new Error('merge agents and adopted agents run on this machine, not on the workers');
    const jobId = spec.reattach?.jobId ?? jobIdFor(spec.runId, spec.task.id, spec.attempt.number);
    const watch = this.watch(jobId, control);
    try {
      if (!spec.reattach) {
        if (!(await startRecorded(control)) || control.signal.aborted)
          return { outcome: { status: 'interrupted', reason: 'stopped before it was queued' } };
        try {
          if (spec.base.sha !== this.baseSha) await this.git.pushStart(spec.runId, spec.task.id, spec.base.sha);
        } catch (error) {
          return remoteFailure(`cannot push the task's start to the remote: ${errorFirstLine(error)}`);
        }
        // On record before it is queued: a coordinator that dies in between finds the job, or finds none.
        let payload: JobPayload;
        try {
          payload = await this.payload(spec);
        } catch (error) {
          return remoteFailure(errorFirstLine(error));
        }
        await control.update({ kind: 'job', id: jobId, queue: this.link.queueName });
        await this.link.add(jobId, payload);
      }
      watch.queued();
      return await this.collect(spec, jobId, await watch.ended);
    } finally {
      watch.dispose();
    }
  }

  private async payload(spec: AttemptSpec): Promise<JobPayload> {
    const { agent, timeouts, worktree } = this.config;
    // The heads the attempt starts from, as this coordinator has them (their workers pushed them).
    const heads = await this.git.branchHeads([spec.task.branch, ...spec.mergeFirst.map((other) => other.branch)]);
    const mergeFirst = spec.mergeFirst.map(({ taskId, title, relation, branch }) => {
      const head = heads.get(branch);
      if (!head) throw new Error(`the branch ${branch} of ${taskId}, which this task builds on, is not in the repository`);
      return { taskId, title, relation, head };
    });
    const task: JobPayload['task'] = {
      id: spec.task.id,
      title: spec.task.title,
      text: spec.task.text,
      files: spec.task.files,
      timeoutMs: spec.task.timeoutMs,
    };
    if (spec.task.model) task.model = spec.task.model;
    if (spec.task.maxTurns) task.maxTurns = spec.task.maxTurns;
    const payload: JobPayload = {
      version: JOB_VERSION,
      runId: spec.runId,
      remote: this.link.remote,
      coordinator: hostname(),
      task,
      attempt: { number: spec.attempt.number, kind: spec.attempt.kind },
      base: spec.base,
      mergeFirst,
      settings: {
        permissionMode: agent.permissionMode,
        allowedTools: agent.allowedTools,
        appendSystemPrompt: agent.appendSystemPrompt,
        // agent.maxBudgetUsd capped by what is left of the run's budget when the attempt starts.
        maxBudgetUsd: spec.task.maxBudgetUsd ?? null,
        extraArgs: agent.extraArgs,
        inactivityMs: timeouts.inactivity,
        killGraceMs: timeouts.killGrace,
        setup: worktree.setup,
        ports: worktree.ports,
        include: worktree.include,
        sandbox: agent.sandbox,
        sandboxNetwork: agent.sandboxNetwork,
        disallowedTools: agent.disallowedTools,
      },
    };
    if (spec.note) payload.note = spec.note;
    const continues = heads.get(spec.task.branch);
    if (continues) payload.continues = continues;
    return payload;
  }

  /**
   * Follows a job to its end: its progress becomes the attempt's updates, its end is read when
   * QueueEvents says it ended (or a poll finds it ended: events can be missed while Redis
   * restarts). A stop cancels the job; a job that was still waiting ends at once, a running one
   * when its worker reports, or is given up after the grace period.
   */
  private watch(jobId: string, control: AttemptControl): Watch {
    let settle!: (end: JobEnd | 'stopped') => void;
    const promise = new Promise<JobEnd | 'stopped'>((resolve) => {
      settle = resolve;
    });
    let settled = false;
    let queued = false;
    const finish = (end: JobEnd | 'stopped'): void => {
      if (settled) return;
      settled = true;
      settle(end);
    };
    const check = async (): Promise<void> => {
      const end = await this.link.end(jobId).catch(() => undefined);
      // Until it is queued a job is missing as a matter of course: only a queued job can be lost.
      if (end && (end.kind !== 'missing' || queued)) finish(end);
    };
    const unlisten = this.link.listen(jobId, {
      progress: (data) => {
        const parsed = jobProgressSchema.safeParse(data);
        if (parsed.success) void control.update(parsed.data);
      },
      ended: () => void check(),
      stalled: () => undefined,
    });
    const timers: NodeJS.Timeout[] = [];
    const poll = setInterval(() => void check(), POLL_MS);
    const onStop = (): void => {
      void this.link
        .cancel(jobId, 'stop')
        .then((removed) => {
          if (removed) finish('stopped');
        })
        .catch(() => undefined);
      timers.push(setTimeout(() => finish('stopped'), this.config.timeouts.killGrace + STOP_ANSWER_MS));
    };
    const onKill = (): void => void this.link.cancel(jobId, 'kill').catch(() => undefined);
    control.signal.addEventListener('abort', onStop, { once: true });
    control.kill.addEventListener('abort', onKill, { once: true });
    if (control.signal.aborted) onStop();
    return {
      ended: promise,
      queued: () => {
        queued = true;
        void check();
      },
      dispose: () => {
        unlisten();
        clearInterval(poll);
        for (const timer of timers) clearTimeout(timer);
        control.signal.removeEventListener('abort', onStop);
        control.kill.removeEventListener('abort', onKill);
      },
    };
  }

  /** The attempt's result from how its job ended: the worker's files copied in, its branch fetched. */
  private async collect(spec: AttemptSpec, jobId: string, end: JobEnd | 'stopped'): Promise<AttemptResult> {
    if (end === 'stopped') return { outcome: { status: 'interrupted', reason: 'stopped before a worker reported back' } };
    if (end.kind === 'missing')
      return remoteFailure(`job ${jobId} is gone from Redis (was its data lost in a restart without persistence?)`);
    const files = await this.link.takeFiles(jobId).catch(() => undefined);
    if (files)
      await writeAttemptFiles(this.runDir, { log: spec.attempt.log, stderr: spec.attempt.stderr, prompt: spec.attempt.prompt }, files);
    if (end.kind === 'failed') return remoteFailure(`the job failed on the worker: ${end.reason.split('\n')[0] ?? end.reason}`);
    const parsed = jobResultSchema.safeParse(end.value);
    if (!parsed.success)
      return remoteFailure(
        `the worker's result is not one this orch reads (version ${String((end.value as { version?: unknown } | null)?.version)})`,
      );
    return this.fetchBranch(spec, parsed.data);
  }

  private async fetchBranch(spec: AttemptSpec, job: JobResult): Promise<AttemptResult> {
    const { result } = job;
    if (!job.pushed) return result;
    const pushed = job.pushed;
    try {
      await this.git.fetchTask(spec.runId, spec.task.id, spec.task.branch, pushed);
    } catch (error) {
      return { ...result, outcome: { status: 'failed', failure: 'remote', reason: errorFirstLine(error) } };
    }
    return result;
  }
}

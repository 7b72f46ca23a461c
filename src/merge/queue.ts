import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { OrchConfig } from '../config/schema.js';
import type { MergeStatus } from '../domain/vocabulary.js';
import { errorFirstLine, errorMessage } from '../errors.js';
import type { MergeSummary, OrchEvent } from '../events.js';
import type { AttemptResult, AttemptSpec, AttemptUpdate, Executor, ResolveBrief } from '../executor/types.js';
import { ProcessGroup } from '../process/process-group.js';
import { isAlive, type ProcessIdentity } from '../process/process-info.js';
import type { TaskMerge, TaskRecord } from '../state/registry.js';
import type { RunStore } from '../state/store.js';
import { ensureWorktree } from '../worktree/git.js';
import { gitAt } from '../worktree/simple-git.js';
import type { GitMutex } from '../worktree/mutex.js';
import { copyIncludes } from '../worktree/include.js';
import { runSetup } from '../worktree/setup.js';
import { firstBreaking } from './bisect.js';
import { describeCheck, runCheck } from './check.js';
import {
  changedFiles,
  commitResolvedMerge,
  filesWithMarkers,
  headOf,
  integratedTasks,
  integrationMessage,
  commitPreviewedMerge,
  mergeInProgress,
  previewMerge,
  resetTo,
  startConflictedMerge,
  unmergedPaths,
} from './git-merge.js';
import { mergeOrder, readiness, type MergeCandidate } from './order.js';

export interface MergeSettings {
  check: string | readonly string[] | null;
  checkTimeoutMs: number;
  checkEvery: number;
  squash: boolean;
  resolve: boolean;
}

export function mergeSettings(config: OrchConfig): MergeSettings {
  return {
    check: config.merge.check,
    checkTimeoutMs: config.merge.checkTimeout,
    checkEvery: config.merge.checkEvery,
    squash: config.merge.squash,
    resolve: config.merge.resolve,
  };
}

export interface MergeQueueDeps {
  store: RunStore;
  config: OrchConfig;
  settings: MergeSettings;
  /** The merge agent runs through it, like any agent. */
  executor: Executor;
  gitMutex: GitMutex;
  env: NodeJS.ProcessEnv;
  owner: ProcessIdentity;
  includeCandidates: () => Promise<string[]>;
  /** Aborted (reason 'user' or 'abort') when the queue must stop. */
  signal: AbortSignal;
  kill: AbortSignal;
  /** Whether every task of the run has finished: a task waiting for a prerequisite then waits for nothing. */
  runFinished: () => boolean;
}

/** A merge done and not yet checked. */
interface Integrated {
  taskId: string;
  /** The integration head before it. */
  before: string;
  commit: string;
  /** Its conflict was resolved by an agent: a failing check undoes it as a conflict. */
  resolved: boolean;
}

type Integration = { kind: 'integrated'; entry: Integrated } | { kind: 'conflict'; files: string[]; reason?: string } | { kind: 'stopped' };

/**
 * The merge queue: integrates a run's succeeded tasks, one merge commit each (or one squashed
 * commit), into the run's integration branch, in dependency order, in its own worktree; previews
 * each merge with `git merge-tree` so a conflict is known before the worktree changes; runs the
 * check after every `checkEvery` merges and bisects a failure to its culprit; lets an agent
 * resolve conflicts when asked. Every state change goes through the run's store (registry and
 * ledger); a merge killed at any moment continues from git's own record (the trailers of the
 * integration commits), never merging a task twice.
 */
export class MergeQueue {
  private head = '';
  /** The last head the check passed on (or every head, without a check): where new task branches may start. */
  private checked = '';
  private checks = 0;
  /** State changes made in memory and not yet written: recorded with the next write. */
  private unrecorded: OrchEvent[] = [];
  /** A bisection checked out an earlier commit: the worktree is off its branch. */
  private detached = false;

  constructor(private readonly deps: MergeQueueDeps) {}

  private get store(): RunStore {
    return this.deps.store;
  }

  private get worktree(): string {
    return this.store.run.merge!.worktree;
  }

  private get stopped(): boolean {
    return this.deps.signal.aborted;
  }

  /** The integration branch's head (after `open`). */
  get integrationHead(): string {
    return this.head;
  }

  /** The newest integration head nothing unchecked is in. */
  get checkedHead(): string {
    return this.checked;
  }

  /**
   * Makes the integration branch and worktree (or reopens them), puts the worktree back in a
   * known state (a half-done merge is aborted), reconciles the registry with what git says is
   * integrated, and checks what was merged but never checked.
   */
  async open(): Promise<{ resumed: boolean }> {
    const run = this.store.run;
    const merge = run.merge!;
    const resumed = await this.deps.gitMutex.run(
      async () => (await ensureWorktree(run.repoRoot, merge.worktree, merge.branch, merge.startSha)) !== 'created',
    );
    const git = gitAt(merge.worktree);
    // A bisection killed half-way leaves the worktree detached: back onto the branch, as it was.
    if ((await git.raw(['symbolic-ref', '--quiet', 'HEAD'])).trim() !== `refs/heads/${merge.branch}`) {
      if (await mergeInProgress(merge.worktree)) await git.raw(['merge', '--abort']).catch(() => undefined);
      await git.raw(['checkout', '--force', merge.branch]);
    }
    await this.stopLeftoverResolvers();
    this.head = await headOf(merge.worktree);
    await resetTo(merge.worktree, this.head);
    if (!merge.worktreeReady) await this.prepareWorktree();

    // What git says is integrated wins over the registry: the registry may lag one step behind.
    const onBranch = await integratedTasks(merge.worktree, merge.startSha, run.id);
    const unchecked: Integrated[] = [];
    for (const [taskId, commit] of onBranch) {
      const task = this.store.tasks.find((candidate) => candidate.id === taskId);
      if (!task) continue;
      if (task.merge?.status === 'merged' && task.merge.commit === commit) continue;
      task.merge = { ...task.merge, status: 'pending', commit };
      unchecked.push({
        taskId,
        before: (await gitAt(merge.worktree).raw(['rev-parse', `${commit}^1`])).trim(),
        commit,
        resolved: task.merge.resolution?.outcome === 'resolved',
      });
    }
    for (const task of this.store.tasks) {
      // Not on the branch: undone after it was recorded (a failed check, a bisection), or refused
      // in an earlier merge (a conflict, a failed check, held). A new merge tries it again.
      if (task.merge && !onBranch.has(task.id)) task.merge = { status: 'pending' };
    }
    await this.store.save();
    if (unchecked.length > 0) await this.checkBatch(unchecked);
    else this.checked = this.head;
    return { resumed };
  }

  /** A check or merge agent still running from a merge that was killed: stopped (by its recorded, verified identity) before its merge is undone. */
  private async stopLeftoverResolvers(): Promise<void> {
    const check = this.store.run.merge!.checkProcess;
    if (check && isAlive(check)) await ProcessGroup.adopt(check).stop(this.deps.config.timeouts.killGrace);
    delete this.store.run.merge!.checkProcess;
    for (const task of this.store.tasks) {
      const agent = task.merge?.resolution?.agent;
      if (agent && isAlive(agent)) await ProcessGroup.adopt(agent).stop(this.deps.config.timeouts.killGrace);
    }
  }

  /** Prepares the integration worktree like a task's: the untracked files to copy, the setup commands. */
  private async prepareWorktree(): Promise<void> {
    const merge = this.store.run.merge!;
    const copied = await copyIncludes(this.store.run.repoRoot, merge.worktree, await this.deps.includeCandidates());
    merge.copiedFiles = [...new Set([...(merge.copiedFiles ?? []), ...copied])];
    const setup = this.deps.config.worktree.setup;
    if (setup.length > 0) {
      const result = await runSetup(setup, {
        cwd: merge.worktree,
        env: { ...this.deps.env, ORCH_RUN_ID: this.store.run.id, ORCH_WORKTREE: merge.worktree, ORCH_BRANCH: merge.branch },
        logFile: path.join(this.store.paths.dir, 'merge', 'setup.log'),
        timeoutMs: this.deps.config.timeouts.task,
        graceMs: this.deps.config.timeouts.killGrace,
        signal: this.deps.signal,
        kill: this.deps.kill,
      });
      if (!result.ok) throw new Error(`the integration worktree's setup command \`${result.command}\` failed (see merge/setup.log)`);
    }
    merge.worktreeReady = true;
  }

  /**
   * Integrates every task that is ready, in merge order, until nothing more is: after a failed
   * check undoes merges, the pass starts over with what is left.
   */
  async drain(): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      const progress = await this.pass();
      if (!progress) return;
    }
  }

  /** One pass over the queue; returns whether anything changed. */
  private async pass(): Promise<boolean> {
    let changed = false;
    let batch: Integrated[] = [];
    for (const id of mergeOrder(this.candidates())) {
      if (this.stopped) break;
      const task = this.store.task(id);
      const ready = readiness(this.candidate(task), this.candidatesById());
      if (ready.kind === 'skip') continue;
      if (ready.kind === 'wait') {
        if (!this.deps.runFinished()) continue;
        const waitedFor = this.store.task(ready.for);
        await this.setStatus(task, 'held', {
          reason: `${task.dependsOn.includes(ready.for) ? 'its dependency' : 'the task it was built on'} ${ready.for} is ${waitedFor.status}, not integrated`,
        });
        changed = true;
        continue;
      }
      if (ready.kind === 'held') {
        await this.setStatus(task, 'held', { reason: ready.reason });
        changed = true;
        continue;
      }
      const integration = await this.integrate(task);
      if (integration.kind === 'stopped') break;
      changed = true;
      if (integration.kind === 'conflict') {
        await this.setStatus(task, 'conflict', { conflictFiles: integration.files, reason: integration.reason });
        continue;
      }
      batch.push(integration.entry);
      // A resolved conflict is checked at once: a resolution that breaks the check is undone as a conflict.
      if (batch.length >= this.deps.settings.checkEvery || integration.entry.resolved) {
        const clean = await this.checkBatch(batch);
        batch = [];
        if (!clean) return true;
      } else if (this.deps.settings.check) {
        await this.flush();
      }
    }
    if (batch.length > 0 && !this.stopped) await this.checkBatch(batch);
    await this.flush();
    return changed;
  }

  /** Merges one task into the integration branch (or resolves its conflict), or says why not. */
  private async integrate(task: TaskRecord): Promise<Integration> {
    const { store } = this;
    const run = store.run;
    const merge = run.merge!;
    const before = this.head;
    const subject = this.deps.settings.squash ? `${task.title} (orch task ${task.id})` : `orch: merge task ${task.id}`;
    const message = integrationMessage(subject, run.id, task.id, task.branch);
    let preview;
    try {
      preview = await previewMerge(run.repoRoot, before, task.branch);
    } catch (error) {
      return { kind: 'conflict', files: [], reason: `git could not merge it: ${errorFirstLine(error)}` };
    }
    if (preview.clean) {
      const commit = await commitPreviewedMerge(merge.worktree, before, task.branch, preview.tree, message, this.deps.settings.squash);
      return this.integrated(task, { taskId: task.id, before, commit, resolved: false });
    }
    if (!this.deps.settings.resolve) return { kind: 'conflict', files: preview.files };
    return this.resolve(task, before, preview.files, message);
  }

  /**
   * A merge is on the branch. Its record ("merged, the check to come") rides along with the next
   * write (the check's start), unless nothing is checked now: git's own record (the trailer) is
   * what a merge killed in between continues from.
   */
  private integrated(task: TaskRecord, entry: Integrated): Integration {
    this.head = entry.commit;
    this.unrecorded.push(this.statusEvent(task, 'pending', { commit: entry.commit }));
    return { kind: 'integrated', entry };
  }

  /**
   * Leaves the conflicting merge in place, has an agent resolve it, and verifies the result: no
   * unmerged path, no marker in any file it touched, the merge committed. Otherwise the merge is
   * undone and the task is a conflict.
   */
  private async resolve(task: TaskRecord, before: string, files: string[], message: string): Promise<Integration> {
    const { store } = this;
    const worktree = this.worktree;
    await startConflictedMerge(worktree, task.branch, this.deps.settings.squash);
    // The agent concludes the merge with `git commit --no-edit`: the message orch prepared, with its trailer.
    await writeMergeMessage(worktree, message, this.deps.settings.squash);
    await store.record({ type: 'merge-resolve', taskId: task.id, stage: 'started' });
    const startedAt = new Date().toISOString();
    const resolution: NonNullable<TaskMerge['resolution']> = {
      startedAt,
      log: `logs/${task.id}.resolve.jsonl`,
      stderr: `logs/${task.id}.resolve.stderr`,
      prompt: `prompts/${task.id}.resolve.md`,
    };
    task.merge = { ...(task.merge ?? { status: 'pending' }), resolution };
    let result: AttemptResult;
    try {
      result = await this.deps.executor.run(await this.resolveSpec(task, files, resolution), {
        signal: this.deps.signal,
        kill: this.deps.kill,
        update: (update) => this.onResolverUpdate(resolution, update, task.id),
      });
    } catch (error) {
      result = { outcome: { status: 'failed', failure: 'agent-error', reason: `the merge agent could not run: ${errorMessage(error)}` } };
    }
    resolution.finishedAt = new Date().toISOString();
    if (result.turns !== undefined) resolution.turns = result.turns;
    if (result.costUsd !== undefined) resolution.costUsd = result.costUsd;
    if (result.sessionId) resolution.sessionId = result.sessionId;
    if (result.outcome.status === 'interrupted') {
      resolution.outcome = 'interrupted';
      await resetTo(worktree, before);
      await store.save();
      return { kind: 'stopped' };
    }

    const problem = await this.verifyResolution(worktree, before, files, message, result);
    if (problem) {
      resolution.outcome = 'failed';
      resolution.reason = problem;
      await resetTo(worktree, before);
      await store.record({ type: 'merge-resolve', taskId: task.id, stage: 'failed', reason: problem });
      return { kind: 'conflict', files, reason: `an agent could not resolve it: ${problem}` };
    }
    resolution.outcome = 'resolved';
    await store.record({ type: 'merge-resolve', taskId: task.id, stage: 'resolved' });
    return this.integrated(task, { taskId: task.id, before, commit: await headOf(worktree), resolved: true });
  }

  /** Why the agent's resolution cannot be kept, or undefined when it can (the merge then committed). */
  private async verifyResolution(
    worktree: string,
    before: string,
    files: string[],
    message: string,
    result: AttemptResult,
  ): Promise<string | undefined> {
    if (result.outcome.status !== 'succeeded') return result.outcome.reason;
    const unmerged = await unmergedPaths(worktree);
    if (unmerged.length > 0) return `still unmerged: ${unmerged.join(', ')}`;
    const touched = new Set([...files, ...(await changedFiles(this.store.run.repoRoot, before, 'HEAD').catch(() => []))]);
    const marked = await filesWithMarkers(worktree, [...touched]);
    if (marked.length > 0) return `conflict markers left in ${marked.join(', ')}`;
    // Resolved but not committed: orch concludes the merge, as it commits a task's leftovers.
    await commitResolvedMerge(worktree, message);
    const head = await headOf(worktree);
    if (head === before) return 'the merge was not committed';
    const parents = (await gitAt(worktree).raw(['rev-list', '--parents', '-n', '1', head])).trim().split(' ').slice(1);
    if (parents[0] !== before) return 'the agent moved the integration branch elsewhere than the merge';
    // The trailer is how a later `orch merge` recognises the task as integrated: keep orch's message.
    const body = await gitAt(worktree).raw(['log', '-1', '--format=%B', head]);
    if (!body.includes(message.trim().split('\n').at(-1)!))
      await gitAt(worktree).raw(['commit', '--amend', '--no-verify', '--only', '-m', message]);
    return undefined;
  }

  private async resolveSpec(task: TaskRecord, files: string[], resolution: NonNullable<TaskMerge['resolution']>): Promise<AttemptSpec> {
    const { store } = this;
    const run = store.run;
    const textOf = (id: string): Promise<string> => readFile(path.join(store.paths.tasks, `${id}.md`), 'utf8');
    // The other side: integrated tasks whose changes touch the conflicting files.
    const integrated: ResolveBrief['integrated'] = [];
    for (const other of store.tasks) {
      if (other.id === task.id || !(other.merge?.status === 'merged' || (other.merge?.status === 'pending' && other.merge.commit)))
        continue;
      const touched = await changedFiles(run.repoRoot, run.baseSha, other.branch).catch(() => []);
      if (touched.some((file) => files.includes(file)))
        integrated.push({ taskId: other.id, title: other.title, text: await textOf(other.id) });
    }
    return {
      runId: run.id,
      task: {
        id: task.id,
        title: task.title,
        text: await textOf(task.id),
        branch: run.merge!.branch,
        worktree: this.worktree,
        files,
        timeoutMs: task.timeoutMs ?? this.deps.config.timeouts.task,
        model: task.model ?? this.deps.config.agent.model ?? undefined,
        maxTurns: task.maxTurns ?? this.deps.config.agent.maxTurns ?? undefined,
      },
      attempt: { number: 1, kind: 'fresh', log: resolution.log, stderr: resolution.stderr, prompt: resolution.prompt },
      base: { ref: run.merge!.branch, sha: this.head },
      mergeFirst: [],
      worktree: { ready: true, copiedFiles: run.merge!.copiedFiles ?? [], ports: [] },
      resolve: {
        integrationBranch: run.merge!.branch,
        taskBranch: task.branch,
        conflictFiles: files,
        integrated,
        check: this.deps.settings.check ? describeCheck(this.deps.settings.check) : undefined,
      },
    };
  }

  /** The merge agent's pid is on record before anything else happens (a merge killed meanwhile stops it when it reopens). */
  private async onResolverUpdate(resolution: NonNullable<TaskMerge['resolution']>, update: AttemptUpdate, taskId: string): Promise<void> {
    if (update.kind === 'agent') {
      resolution.agent = update.identity;
      await this.store.save();
    } else if (update.kind === 'session') {
      resolution.sessionId = update.sessionId;
    } else if (update.kind === 'refs') {
      // The refs guard watches merge agents too: what it put back goes on record.
      await this.store.record({
        type: 'refs-restored',
        taskId,
        attempt: 1,
        agent: 'merge',
        changes: update.changes,
        problems: update.problems,
      });
    } else if (update.kind === 'warning') {
      await this.store.record({ type: 'warning', message: `${taskId} (merge agent): ${update.message}` });
    }
  }

  /**
   * Runs the check on the integration branch with the batch merged. Passing, every merge in it is
   * integrated; failing, bisection finds the first merge that breaks it, which is undone (with
   * everything merged after it, to be merged again), and the merges before it are integrated.
   * Returns whether the batch passed whole.
   */
  private async checkBatch(batch: Integrated[]): Promise<boolean> {
    const { settings } = this.deps;
    if (!settings.check) {
      // Nothing to wait for: straight to merged, in one write.
      this.unrecorded = [];
      await this.store.recordAll(batch.map((entry) => this.statusEvent(this.store.task(entry.taskId), 'merged', { commit: entry.commit })));
      this.checked = this.head;
      return true;
    }
    const whole = await this.check(
      batch.at(-1)!.commit,
      batch.map((entry) => entry.taskId),
    );
    if (whole === 'stopped') return false;
    if (whole.passed) {
      // The check and what it decides: one write.
      await this.store.recordAll([
        whole.event,
        ...batch.map((entry) =>
          this.statusEvent(this.store.task(entry.taskId), 'merged', { commit: entry.commit, check: checkRecord(whole) }),
        ),
      ]);
      this.checked = this.head;
      return true;
    }
    await this.store.record(whole.event);
    const results = new Map([[batch.length, whole]]);
    const { culprit } = await firstBreaking(batch.length, async (prefix) => {
      const result = await this.check(
        batch[prefix - 1]!.commit,
        batch.slice(0, prefix).map((entry) => entry.taskId),
      );
      if (result === 'stopped') throw new Stopped();
      await this.store.record(result.event);
      results.set(prefix, result);
      return result.passed;
    }).catch((error: unknown) => {
      if (error instanceof Stopped) return { culprit: -1 };
      throw error;
    });
    await this.backOnBranch();
    if (culprit < 0) return false;
    const bad = batch[culprit]!;
    // The smallest failing prefix ends with the culprit: its run is the one to show.
    const failing = results.get(culprit + 1) ?? whole;
    await resetTo(this.worktree, bad.before);
    this.head = bad.before;
    this.checked = bad.before;
    const passing = results.get(culprit);
    for (const entry of batch.slice(0, culprit)) {
      await this.setStatus(this.store.task(entry.taskId), 'merged', {
        commit: entry.commit,
        check: passing ? checkRecord(passing) : undefined,
      });
    }
    const task = this.store.task(bad.taskId);
    const check = checkRecord(failing);
    const how = failing.timedOut ? 'timed out' : `exited ${failing.exitCode ?? failing.signal ?? '?'}`;
    if (bad.resolved)
      await this.setStatus(task, 'conflict', {
        reason: `an agent resolved the conflict, but the check then ${how} (see ${failing.log})`,
        check,
      });
    else await this.setStatus(task, 'check-failed', { reason: `the check ${how} with it merged (see ${failing.log})`, check });
    // Merged after the culprit: undone with it, merged again in the next pass (those built on it are held).
    for (const entry of batch.slice(culprit + 1)) {
      const later = this.store.task(entry.taskId);
      const { commit: _undone, ...rest } = later.merge!;
      later.merge = { ...rest, status: 'pending' };
    }
    await this.store.save();
    return false;
  }

  private async backOnBranch(): Promise<void> {
    if (!this.detached) return;
    await gitAt(this.worktree).raw(['checkout', '--force', this.store.run.merge!.branch]);
    this.detached = false;
  }

  /** Runs the check at `commit` (detached when it is not the branch's head). */
  private async check(
    commit: string,
    taskIds: string[],
  ): Promise<(Awaited<ReturnType<typeof runCheck>> & { passed: boolean; log: string; event: OrchEvent }) | 'stopped'> {
    if (commit !== this.head) {
      await gitAt(this.worktree).raw(['checkout', '--force', '--detach', commit]);
      this.detached = true;
    } else {
      await this.backOnBranch();
    }
    this.checks += 1;
    const log = `merge/check-${new Date().toISOString().replace(/[:.]/g, '-')}-${this.checks}.log`;
    const exit = await runCheck({
      check: this.deps.settings.check!,
      worktree: this.worktree,
      logFile: path.join(this.store.paths.dir, log),
      timeoutMs: this.deps.settings.checkTimeoutMs,
      graceMs: this.deps.config.timeouts.killGrace,
      env: { ...this.deps.env, ORCH_RUN_ID: this.store.run.id, ORCH_WORKTREE: this.worktree, ORCH_BRANCH: this.store.run.merge!.branch },
      signal: this.deps.signal,
      kill: this.deps.kill,
      // The check's identity is on record before it runs (a merge killed meanwhile stops it), with the merges it checks.
      onStart: async (identity) => {
        this.store.run.merge!.checkProcess = identity;
        await this.flush();
      },
    });
    delete this.store.run.merge!.checkProcess;
    if (this.stopped) {
      await this.store.save();
      return 'stopped';
    }
    const passed = exit.exitCode === 0 && !exit.timedOut;
    const event: OrchEvent = {
      type: 'merge-check',
      taskIds,
      passed,
      exitCode: exit.exitCode,
      timedOut: exit.timedOut,
      durationMs: exit.durationMs,
      log,
    };
    return { ...exit, passed, log, event };
  }

  /** Writes what was changed in memory and not yet written (a registry write even when nothing was). */
  private async flush(): Promise<void> {
    await this.store.recordAll(this.takeUnrecorded());
  }

  private candidate(task: TaskRecord): MergeCandidate {
    return {
      id: task.id,
      status: task.status,
      order: task.order,
      dependsOn: task.dependsOn,
      builtOn: task.builtOn ?? [],
      mergeStatus: task.merge?.status,
      integrated: task.merge?.status === 'pending' && task.merge.commit !== undefined,
    };
  }

  private candidates(): MergeCandidate[] {
    return this.store.tasks.map((task) => this.candidate(task));
  }

  private candidatesById(): Map<string, MergeCandidate> {
    return new Map(this.candidates().map((candidate) => [candidate.id, candidate]));
  }

  /** Changes a task's merge status in memory and returns the event that records it. */
  private statusEvent(
    task: TaskRecord,
    status: MergeStatus,
    detail: { commit?: string | undefined; conflictFiles?: string[] | undefined; reason?: string | undefined; check?: TaskMerge['check'] },
  ): OrchEvent {
    const previous = task.merge?.status;
    const next: TaskMerge = { status };
    if (detail.commit) next.commit = detail.commit;
    if (detail.conflictFiles) next.conflictFiles = detail.conflictFiles;
    if (detail.reason) next.reason = detail.reason;
    if (detail.check) next.check = detail.check;
    if (task.merge?.resolution) next.resolution = task.merge.resolution;
    task.merge = next;
    return {
      type: 'merge-status',
      taskId: task.id,
      status,
      previous,
      ...(next.commit ? { commit: next.commit } : {}),
      ...(next.conflictFiles ? { conflictFiles: next.conflictFiles } : {}),
      ...(next.reason ? { reason: next.reason } : {}),
    };
  }

  private async setStatus(task: TaskRecord, status: MergeStatus, detail: Parameters<MergeQueue['statusEvent']>[2]): Promise<void> {
    await this.store.recordAll([...this.takeUnrecorded(), this.statusEvent(task, status, detail)]);
  }

  private takeUnrecorded(): OrchEvent[] {
    const events = this.unrecorded;
    this.unrecorded = [];
    return events;
  }

  /** Every succeeded task's place in the queue, for the end of a merge. */
  summary(): MergeSummary {
    const counts = { pending: 0, merged: 0, conflict: 0, 'check-failed': 0, held: 0 } satisfies Record<MergeStatus, number>;
    const tasks: MergeSummary['tasks'] = [];
    for (const task of this.store.tasks) {
      if (task.status !== 'succeeded') continue;
      const merge = task.merge ?? { status: 'pending' as const };
      counts[merge.status] += 1;
      const entry: MergeSummary['tasks'][number] = { id: task.id, status: merge.status };
      if (merge.commit) entry.commit = merge.commit;
      if (merge.conflictFiles) entry.conflictFiles = merge.conflictFiles;
      if (merge.check) entry.checkMs = merge.check.durationMs;
      if (merge.reason) entry.reason = merge.reason;
      tasks.push(entry);
    }
    return { branch: this.store.run.merge!.branch, head: this.head, counts, tasks };
  }
}

class Stopped extends Error {}

function checkRecord(result: {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  durationMs: number;
  log: string;
}): TaskMerge['check'] {
  return { exitCode: result.exitCode, signal: result.signal, timedOut: result.timedOut, durationMs: result.durationMs, log: result.log };
}

/** The message `git commit --no-edit` will use to conclude the merge. */
async function writeMergeMessage(worktree: string, message: string, squash: boolean): Promise<void> {
  const gitDir = (await gitAt(worktree).raw(['rev-parse', '--absolute-git-dir'])).trim();
  await writeFile(path.join(gitDir, squash ? 'SQUASH_MSG' : 'MERGE_MSG'), message);
}

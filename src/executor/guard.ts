import { readFile, writeFile } from 'node:fs/promises';
import { environmentError, errorCode, errorFirstLine } from '../errors.js';
import { integrationBranchName } from '../state/paths.js';
import { commitLeftovers, gitCommonDir } from '../worktree/git.js';
import type { GitMutex } from '../worktree/mutex.js';
import { checkedOutReflogs, isAncestor, readRefs, refReflogs, restoreRefs, switchBack, worktreeHead } from '../worktree/refs.js';
import { culprits, diffRefs, judge, type Candidate, type RefChange, type RefSnapshot } from '../worktree/refs-guard.js';
import type { AttemptSpec } from './types.js';

/** What the guard found: changes put back (each charged to the agent that made them), and what went wrong. */
export interface GuardReport {
  changes: RefChange[];
  problems: string[];
}

type Report = (report: GuardReport) => Promise<void>;

/**
 * The refs guard of one orchestrator. Before an agent starts, every ref of the repository is
 * recorded; after it exits, any ref other than its own branch that changed — and that no one
 * else was entitled to change meanwhile (see `judge`) — is put back to the recorded commit, a
 * ref that was created is deleted (its commit on record first), and the agent's worktree is put
 * back on its branch if it left it. Attempts running at the same time are tracked here: one
 * attempt's check never undoes another task's commits on its own branch, and a change is
 * charged to the agent that made it (see `culprits`), whichever attempt's check found it.
 * Checks and restores run under the git mutex, like every other ref change orch makes.
 */
export class RefsGuard {
  private readonly attempts = new Set<GuardedAttempt>();

  constructor(
    private readonly repoRoot: string,
    private readonly runId: string,
    private readonly mutex: GitMutex,
  ) {}

  /**
   * An attempt begins (before its worktree is made): its branch is its own from now until `end`.
   * `report` records a finding against it (it settles once recorded).
   */
  begin(spec: AttemptSpec, report: Report): GuardedAttempt {
    const attempt = new GuardedAttempt(this, spec, report, new Set([...this.attempts].map((other) => other.ownRef)));
    for (const other of this.attempts) other.concurrent.add(attempt.ownRef);
    this.attempts.add(attempt);
    return attempt;
  }

  /** @internal */
  forget(attempt: GuardedAttempt): void {
    this.attempts.delete(attempt);
  }

  /** @internal Attempts whose agents are running (or were until just now). */
  running(): GuardedAttempt[] {
    return [...this.attempts].filter((attempt) => attempt.started);
  }

  /** @internal Runs a git step under the mutex. */
  exclusive<T>(operation: () => Promise<T>): Promise<T> {
    return this.mutex.run(operation);
  }

  /** @internal */
  get root(): string {
    return this.repoRoot;
  }

  /** @internal */
  get run(): string {
    return this.runId;
  }

  /**
   * orch itself made these refs while attempts run (a task's branch, ahead of time), under the
   * mutex: every attempt's record takes them as they are, so no check undoes them, and a later
   * change to them is still put back.
   */
  madeByOrch(refs: RefSnapshot): void {
    for (const attempt of this.attempts)
      for (const [ref, value] of Object.entries(refs)) attempt.settle({ ref, action: 'created', before: value });
  }

  /** @internal Refs were put back: other attempts' records take the restored values, so none of them undoes the restore. */
  restored(by: GuardedAttempt, changes: readonly RefChange[]): void {
    for (const other of this.attempts) if (other !== by) for (const change of changes) other.settle(change);
  }
}

export class GuardedAttempt {
  readonly ownRef: string;
  private snapshot: RefSnapshot | undefined;
  /** Adopted from an orchestrator that died: which tasks ran meanwhile is unknown, so every task branch of the run counts. */
  private adopted = false;
  /** Changes other attempts' checks found and charged to this attempt's agent. */
  private readonly charged: RefChange[] = [];

  constructor(
    private readonly guard: RefsGuard,
    /** @internal */
    readonly spec: AttemptSpec,
    private readonly report: Report,
    /** Branches of attempts that ran at some time during this one. */
    readonly concurrent: Set<string>,
  ) {
    this.ownRef = `refs/heads/${spec.task.branch}`;
  }

  get started(): boolean {
    return this.snapshot !== undefined;
  }

  get taskId(): string {
    return this.spec.task.id;
  }

  /** Records every ref, just before the agent starts, here and in `file` (for an orchestrator that adopts the agent). */
  async record(file: string): Promise<void> {
    const snapshot = await this.guard.exclusive(() => readRefs(this.guard.root));
    try {
      await writeFile(file, `${JSON.stringify({ refs: snapshot })}\n`);
    } catch (error) {
      // A full disk or a read-only run folder is the environment's failure, not this task's.
      throw (
        environmentError(error, `cannot write the refs record ${file}`, 'free some space or fix the permissions, then `orch resume`.') ??
        error
      );
    }
    this.snapshot = snapshot;
  }

  /** Takes over the record made by the orchestrator that started an adopted agent (none: nothing to check against). */
  async load(file: string): Promise<void> {
    this.adopted = true;
    try {
      const parsed = JSON.parse(await readFile(file, 'utf8')) as { refs?: RefSnapshot };
      if (parsed.refs && typeof parsed.refs === 'object') this.snapshot = parsed.refs;
    } catch (error) {
      if (errorCode(error) !== 'ENOENT' && !(error instanceof SyntaxError)) throw error;
    }
  }

  /** @internal */
  settle(change: RefChange): void {
    if (!this.snapshot) return;
    if (change.before === undefined) delete this.snapshot[change.ref];
    else this.snapshot[change.ref] = change.before;
  }

  /** @internal Another attempt's check found a change this attempt's agent made. */
  async charge(changes: RefChange[]): Promise<void> {
    this.charged.push(...changes);
    await this.report({ changes, problems: [] });
  }

  /**
   * After the agent exited: finds what changed outside the branches entitled to change, has it
   * recorded against the agent that made it (before anything is deleted), then puts it back.
   * Returns what this attempt's agent did (including what other checks charged to it), or
   * undefined when there was nothing to check against (an adopted agent whose starter kept no record).
   */
  async check(copiedFiles: readonly string[], options: { worktree: boolean } = { worktree: true }): Promise<GuardReport | undefined> {
    const before = this.snapshot;
    if (!before) return undefined;
    return this.guard.exclusive(async () => {
      const problems: string[] = [];
      const mine: RefChange[] = [];
      const switched = !options.worktree
        ? undefined
        : await this.switchedWorktree(copiedFiles).catch((error: unknown) => {
            problems.push(`could not put the worktree back on ${this.spec.task.branch}: ${errorFirstLine(error)}`);
            return undefined;
          });
      if (switched) mine.push(switched);

      const root = this.guard.root;
      const after = await readRefs(root);
      const seen = diffRefs(before, after);
      // The merge queue's integration branch is orch's own (it merges there while agents run).
      const concurrent = new Set([...this.concurrent, `refs/heads/${integrationBranchName(this.guard.run)}`]);
      // A branch another running agent has its worktree on is that agent's to answer for, at its own check.
      for (const other of this.guard.running()) {
        if (other === this) continue;
        const head = await worktreeHead(other.spec.task.worktree).catch(() => undefined);
        if (head?.startsWith('refs/heads/')) concurrent.add(head);
      }
      if (this.adopted) {
        const runBranches = `refs/heads/orch/${this.guard.run}/`;
        for (const ref of [...Object.keys(before), ...Object.keys(after)]) if (ref.startsWith(runBranches)) concurrent.add(ref);
      }
      const candidates = seen.filter((change) => change.ref !== this.ownRef && !concurrent.has(change.ref)).map((change) => change.ref);
      const context = {
        own: this.ownRef,
        runId: this.guard.run,
        concurrent,
        checkedOut: await checkedOutReflogs(root, candidates, this.spec.task.worktree),
        reflog: await refReflogs(await gitCommonDir(root), candidates),
      };
      const restore = seen.filter((change) => judge(change, context).restore);

      // Whose agent did it: the record goes to that attempt, whichever check found it.
      const running = [this, ...this.guard.running().filter((other) => other !== this)];
      const others = new Map<GuardedAttempt, RefChange[]>();
      for (const change of restore) {
        const ids = culprits(change, await this.candidates(change, running, after));
        const culprit = ids.length === 1 ? running.find((attempt) => attempt.taskId === ids[0]) : undefined;
        if (culprit === this) mine.push(change);
        else if (culprit) others.set(culprit, [...(others.get(culprit) ?? []), change]);
        else mine.push({ ...change, suspects: ids });
      }
      // On record first: a ref about to be deleted is named with its commit, so it can be brought back.
      for (const [other, changes] of others) await other.charge(changes);
      if (mine.length > 0) await this.report({ changes: mine, problems: [] });

      if (restore.length > 0) {
        problems.push(
          ...(await restoreRefs(root, restore, `orch: refs guard: put back after task ${this.spec.task.id} (run ${this.spec.runId})`)),
        );
        this.guard.restored(this, restore);
      }
      if (problems.length > 0) await this.report({ changes: [], problems });
      return { changes: [...mine.filter((change) => change.suspects === undefined), ...this.charged], problems };
    });
  }

  /** The attempt is over: its branch is no longer its own. */
  end(): void {
    this.guard.forget(this);
  }

  /** The running agents, with what tells whether the change's new value is their work. */
  private async candidates(change: RefChange, running: readonly GuardedAttempt[], after: RefSnapshot): Promise<Candidate[]> {
    const value = change.after;
    const commit = value !== undefined && !value.startsWith('ref: ') ? value : undefined;
    const root = this.guard.root;
    const candidates: Candidate[] = [];
    for (const attempt of running) {
      const tip = after[attempt.ownRef];
      const holds =
        running.length > 1 &&
        commit !== undefined &&
        tip !== undefined &&
        (await isAncestor(root, commit, tip)) &&
        !(await isAncestor(root, commit, attempt.spec.base.sha));
      candidates.push({ taskId: attempt.taskId, tip, holds });
    }
    return candidates;
  }

  /** If the agent left its worktree off its branch: its work is committed where it is, and the worktree goes back. */
  private async switchedWorktree(copiedFiles: readonly string[]): Promise<RefChange | undefined> {
    const { worktree, id } = this.spec.task;
    const head = await worktreeHead(worktree);
    if (head === this.ownRef) return undefined;
    await commitLeftovers(worktree, `orch: work left uncommitted by task ${id} (run ${this.spec.runId}) off its branch`, copiedFiles);
    await switchBack(worktree, this.ownRef);
    return { ref: 'HEAD', action: 'switched', before: this.ownRef, after: head };
  }
}

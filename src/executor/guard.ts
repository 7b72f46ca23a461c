import { readFile, writeFile } from 'node:fs/promises';
import { environmentError, errorCode, errorFirstLine } from '../errors.js';
import { integrationBranchName } from '../state/paths.js';
import { commonDirOf } from '../worktree/common-dir.js';
import { commitLeftovers } from '../worktree/git.js';
import type { GitMutex } from '../worktree/mutex.js';
import {
  checkedOutReflogs,
  isAncestor,
  isOnBranch,
  readRefs,
  refReflogs,
  restoreRefs,
  switchBack,
  worktreeHead,
} from '../worktree/refs.js';
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
 * Restores run under the git mutex, like every other ref change orch makes, and so does every
 * check that finds something to judge. Reading refs needs no lock (git reads a consistent value
 * of each ref while others write), so the record before an agent and the check of an agent that
 * changed nothing outside its branch — nearly all of them — hold no lock; a read that overlapped
 * one of this orchestrator's restores (or a branch it made ahead of time) is made again, so no
 * record keeps a value a restore undid or misses a branch orch made.
 */
export class RefsGuard {
  private readonly attempts = new Set<GuardedAttempt>();
  /** Bumped when orch changes refs itself (a restore begins or ends, a branch made ahead of time): a read that saw it change is made again. */
  private changes = 0;
  private restoring: Promise<void> | undefined;

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

  /**
   * @internal Every ref as it is, read when none of this guard's restores is under way (see
   * `restore`), and read again when orch changed refs while it was read. `take` gets it at once
   * (in the same turn as that last look), so whatever orch settles from then on reaches it.
   */
  async readRefs(take: (refs: RefSnapshot) => void = () => undefined): Promise<RefSnapshot> {
    for (;;) {
      while (this.restoring) await this.restoring;
      const seen = this.changes;
      const refs = await readRefs(this.repoRoot);
      if (this.changes === seen && !this.restoring) {
        take(refs);
        return refs;
      }
    }
  }

  /** @internal Puts refs back (the caller holds the mutex), then has the other attempts' records take the restored values. */
  async restore(by: GuardedAttempt, changes: readonly RefChange[], message: string): Promise<string[]> {
    let done!: () => void;
    this.restoring = new Promise((resolve) => (done = resolve));
    this.changes += 1;
    try {
      const problems = await restoreRefs(this.repoRoot, changes, message);
      this.restored(by, changes);
      return problems;
    } finally {
      this.changes += 1;
      this.restoring = undefined;
      done();
    }
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
   * change to them is still put back. A record being read meanwhile is read again.
   */
  madeByOrch(refs: RefSnapshot): void {
    this.changes += 1;
    for (const attempt of this.attempts)
      for (const [ref, value] of Object.entries(refs)) attempt.settle({ ref, action: 'created', before: value });
  }

  /** Refs were put back: other attempts' records take the restored values, so none of them undoes the restore. */
  private restored(by: GuardedAttempt, changes: readonly RefChange[]): void {
    for (const other of this.attempts) if (other !== by) for (const change of changes) other.settle(change);
  }
}

export class GuardedAttempt {
  readonly ownRef: string;
  private snapshot: RefSnapshot | undefined;
  /** Its record is made (and kept on disk): its agent starts, or has started. */
  private recorded = false;
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
    return this.recorded;
  }

  get taskId(): string {
    return this.spec.task.id;
  }

  /** Records every ref, just before the agent starts, here and in `file` (for an orchestrator that adopts the agent). */
  async record(file: string): Promise<void> {
    // Kept at once, so whatever orch changes from then on (a restore, a branch made ahead of time) settles it too.
    const snapshot = await this.guard.readRefs((refs) => {
      this.snapshot = refs;
    });
    try {
      await writeFile(file, `${JSON.stringify({ refs: snapshot })}\n`);
    } catch (error) {
      // A full disk or a read-only run folder is the environment's failure, not this task's.
      throw (
        environmentError(error, `cannot write the refs record ${file}`, 'free some space or fix the permissions, then `orch resume`.') ??
        error
      );
    }
    this.recorded = true;
  }

  /** Takes over the record made by the orchestrator that started an adopted agent (none: nothing to check against). */
  async load(file: string): Promise<void> {
    this.adopted = true;
    try {
      const parsed = JSON.parse(await readFile(file, 'utf8')) as { refs?: RefSnapshot };
      if (parsed.refs && typeof parsed.refs === 'object') {
        this.snapshot = parsed.refs;
        this.recorded = true;
      }
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
    // Nearly every agent changes nothing outside its branch: seen without the lock, that is the whole check.
    if (!this.adopted && (await this.untouched(before, options.worktree).catch(() => false))) {
      return { changes: [...this.charged], problems: [] };
    }
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
      const after = await this.guard.readRefs();
      const seen = diffRefs(before, after);
      const concurrent = this.entitled();
      if (this.adopted) {
        const runBranches = `refs/heads/orch/${this.guard.run}/`;
        for (const ref of [...Object.keys(before), ...Object.keys(after)]) if (ref.startsWith(runBranches)) concurrent.add(ref);
      }
      const outside = (change: RefChange): boolean => change.ref !== this.ownRef && !concurrent.has(change.ref);
      // A branch another running agent has its worktree on is that agent's to answer for, at its own
      // check. Asked only when something changed outside the branches already known to be entitled
      // (the usual case is nothing: no git process per running agent at every check).
      if (seen.some(outside)) {
        for (const other of this.guard.running()) {
          if (other === this) continue;
          const head = await worktreeHead(other.spec.task.worktree).catch(() => undefined);
          if (head?.startsWith('refs/heads/')) concurrent.add(head);
        }
      }
      const candidates = seen.filter(outside).map((change) => change.ref);
      const context = {
        own: this.ownRef,
        runId: this.guard.run,
        concurrent,
        checkedOut: await checkedOutReflogs(root, candidates, this.spec.task.worktree),
        reflog: await refReflogs(await commonDirOf(root), candidates),
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
          ...(await this.guard.restore(
            this,
            restore,
            `orch: refs guard: put back after task ${this.spec.task.id} (run ${this.spec.runId})`,
          )),
        );
      }
      if (problems.length > 0) await this.report({ changes: [], problems });
      return { changes: [...mine.filter((change) => change.suspects === undefined), ...this.charged], problems };
    });
  }

  /** Branches whose changes are not this agent's doing: its concurrent tasks', and the merge queue's integration branch (orch's own). */
  private entitled(): Set<string> {
    return new Set([...this.concurrent, `refs/heads/${integrationBranchName(this.guard.run)}`]);
  }

  /** Whether the worktree is on its branch (when it is checked) and no ref changed outside the branches entitled to change. */
  private async untouched(before: RefSnapshot, worktree: boolean): Promise<boolean> {
    if (worktree && !(await isOnBranch(this.spec.task.worktree, this.ownRef))) return false;
    const after = await this.guard.readRefs();
    const entitled = this.entitled();
    return !diffRefs(before, after).some((change) => change.ref !== this.ownRef && !entitled.has(change.ref));
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

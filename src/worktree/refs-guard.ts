/**
 * The refs guard's decisions, pure: which refs changed during an agent's attempt, and which of
 * those changes are not the agent's to make and must be put back. The git side (reading refs
 * and reflogs, restoring) is in refs.ts; when it runs is the executor's business.
 */

/** A ref's value: a commit (object) name, or `ref: <target>` for a symbolic ref. */
export type RefValue = string;
/** Every ref of the repository the guard watches, by full name. */
export type RefSnapshot = Record<string, RefValue>;

export const ZERO_SHA = '0000000000000000000000000000000000000000';

export type RefAction = 'created' | 'moved' | 'deleted' | 'switched';

/** One change the guard saw. `switched`: the agent's own worktree was left on another branch or a bare commit. */
export interface RefChange {
  ref: string;
  action: RefAction;
  before?: RefValue | undefined;
  after?: RefValue | undefined;
  /**
   * Set when it cannot be told which agent made the change: the tasks whose agents were all
   * running then. Unset: this task's agent made it.
   */
  suspects?: string[] | undefined;
}

/** A reflog line reduced to what the guard reads: the move and its message. */
export interface Transition {
  from: string;
  to: string;
  message: string;
}

/** The refs a guard does not watch: per-worktree refs (the user's bisect…) and the stash, whose reflog is its list. */
export function isWatched(ref: string): boolean {
  return !/^refs\/(bisect|worktree|rewritten)\//.test(ref) && ref !== 'refs/stash';
}

/** Every ref created, moved or deleted between two snapshots, in name order. */
export function diffRefs(before: RefSnapshot, after: RefSnapshot): RefChange[] {
  const names = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter(isWatched).sort();
  const changes: RefChange[] = [];
  for (const ref of names) {
    const was = before[ref];
    const is = after[ref];
    if (was === is) continue;
    if (was === undefined) changes.push({ ref, action: 'created', after: is });
    else if (is === undefined) changes.push({ ref, action: 'deleted', before: was });
    else changes.push({ ref, action: 'moved', before: was, after: is });
  }
  return changes;
}

/** Whether a chain of recorded moves leads from one value to the other (a ref that did not exist is the zero id). */
export function explains(transitions: readonly Transition[], from: string | undefined, to: string | undefined): boolean {
  const start = from ?? ZERO_SHA;
  const goal = to ?? ZERO_SHA;
  if (start === goal) return true;
  const next = new Map<string, string[]>();
  for (const { from: a, to: b } of transitions) next.set(a, [...(next.get(a) ?? []), b]);
  const seen = new Set([start]);
  const queue = [start];
  while (queue.length > 0) {
    for (const value of next.get(queue.shift()!) ?? []) {
      if (value === goal) return true;
      if (!seen.has(value)) {
        seen.add(value);
        queue.push(value);
      }
    }
  }
  return false;
}

export interface GuardContext {
  /** The attempt's own branch, `refs/heads/…`: its agent's to change. */
  own: string;
  /** The run's id: other orch runs' task branches (`refs/heads/orch/<other run>/…`) are their runs' business. */
  runId: string;
  /** Branches of the run's other tasks whose attempts ran at the same time: their commits are their own. */
  concurrent: ReadonlySet<string>;
  /** For a branch checked out in another worktree (yours, say): that worktree's HEAD reflog. */
  checkedOut: ReadonlyMap<string, readonly Transition[]>;
  /** A ref's own reflog, for the changes orch itself recorded (messages starting with `orch:`). */
  reflog: ReadonlyMap<string, readonly Transition[]>;
}

export type Verdict =
  { restore: true } | { restore: false; why: 'own branch' | 'concurrent task' | 'another run' | 'made in its checkout' | 'made by orch' };

const RUN_BRANCH = /^refs\/heads\/orch\/(\d{8}-\d{6}-[0-9a-f]{4})\//;

/**
 * Whether a change seen after an attempt is put back. Left alone: the agent's own branch; the
 * branches of other tasks of the run that ran meanwhile (their commits are not this agent's);
 * other orch runs' task branches; a branch checked out in another worktree whose HEAD reflog
 * records the move (a commit, merge or reset made in that checkout: yours, or another task's);
 * a move orch itself recorded in the ref's reflog. Anything else is put back.
 */
export function judge(change: RefChange, context: GuardContext): Verdict {
  const { ref } = change;
  if (ref === context.own) return { restore: false, why: 'own branch' };
  if (context.concurrent.has(ref)) return { restore: false, why: 'concurrent task' };
  const run = RUN_BRANCH.exec(ref)?.[1];
  if (run !== undefined && run !== context.runId) return { restore: false, why: 'another run' };
  const head = context.checkedOut.get(ref);
  if (head && explains(head, change.before, change.after)) return { restore: false, why: 'made in its checkout' };
  const orchMoves = (context.reflog.get(ref) ?? []).filter((transition) => transition.message.startsWith('orch:'));
  if (orchMoves.length > 0 && explains(orchMoves, change.before, change.after)) return { restore: false, why: 'made by orch' };
  return { restore: true };
}

/** An agent that was running when a change happened. */
export interface Candidate {
  taskId: string;
  /** The tip of its branch now. */
  tip: string | undefined;
  /** Whether the changed ref's new value is its own work (on its branch, not on the run's base). */
  holds: boolean;
}

/**
 * Which agent made a change, among those that were running: the only one; else the one whose
 * branch tip the ref now points at (`git branch -f x HEAD`, `git branch x`); else the only one
 * whose own work the ref now points into. Several ids when it cannot be told.
 */
export function culprits(change: RefChange, candidates: readonly Candidate[]): string[] {
  if (candidates.length <= 1) return candidates.map((candidate) => candidate.taskId);
  const value = change.after;
  if (value !== undefined && !value.startsWith('ref: ')) {
    const atTip = candidates.filter((candidate) => candidate.tip === value);
    if (atTip.length === 1) return [atTip[0]!.taskId];
    const holding = candidates.filter((candidate) => candidate.holds);
    if (holding.length === 1) return [holding[0]!.taskId];
  }
  return candidates.map((candidate) => candidate.taskId);
}

/** Parses reflog text (`<old> <new> <who> <when> <tz>\t<message>` per line). */
export function parseReflog(text: string): Transition[] {
  const transitions: Transition[] = [];
  for (const line of text.split('\n')) {
    const match = /^([0-9a-f]{40,64}) ([0-9a-f]{40,64}) [^\t]*(?:\t(.*))?$/.exec(line);
    if (match) transitions.push({ from: match[1]!, to: match[2]!, message: match[3] ?? '' });
  }
  return transitions;
}

const short = (value: RefValue | undefined): string =>
  value === undefined ? '—' : value.startsWith('ref: ') ? value.slice(5) : value.slice(0, 9);
const shortRef = (ref: string): string => ref.replace(/^refs\/heads\//, '').replace(/^refs\//, '');

/** One change for people: `moved keep-me from 1a2b3c4d5 to 6e7f8a9b0 (put back)`. */
export function describeChange(change: RefChange): string {
  const suspects = change.suspects ? ` — made while the agents of ${change.suspects.join(', ')} ran; which one is not known` : '';
  return `${describeAction(change)}${suspects}`;
}

function describeAction(change: RefChange): string {
  const name = shortRef(change.ref);
  switch (change.action) {
    case 'created':
      return `created ${name} at ${short(change.after)} (removed; \`git update-ref ${change.ref} ${short(change.after)}\` brings it back)`;
    case 'deleted':
      return `deleted ${name} at ${short(change.before)} (recreated)`;
    case 'moved':
      return `moved ${name} from ${short(change.before)} to ${short(change.after)} (put back)`;
    case 'switched': {
      const to = change.after ?? '';
      const where = /^[0-9a-f]{40,64}$/.test(to) ? `commit ${to.slice(0, 9)}` : shortRef(to);
      return `switched its worktree from ${shortRef(change.before ?? '')} to ${where} (switched back)`;
    }
  }
}

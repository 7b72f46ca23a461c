import type { Outcome } from '../agent/outcome.js';
import type { AttemptKind } from '../domain/vocabulary.js';
import type { ProcessIdentity } from '../process/process-info.js';
import type { RefChange } from '../worktree/refs-guard.js';

/**
 * The seam between deciding what runs and running it. The engine (src/engine/) decides that an
 * attempt may start and hands over an `AttemptSpec`; an executor turns it into a finished attempt
 * — worktree, preparation, agent, its stream, its commits — and reports what it sees as updates.
 * The local executor runs it on this machine; nothing above the seam knows where it runs.
 * Specs, updates and results are plain data, so they can travel to another machine.
 */
export interface Executor {
  run(spec: AttemptSpec, control: AttemptControl): Promise<AttemptResult>;
  /**
   * The tasks the engine expects to admit next, best first: their worktrees may be made ahead of
   * time (nothing else: merges, copies, setup and ports stay with the attempt), so an agent starts
   * the moment a slot frees. Fire and forget; each call replaces the previous list (an empty one
   * drops it). Failures are the executor's to swallow: the attempt reports the real one.
   */
  prepareAhead?(tasks: AheadTask[]): void;
  /** Drops the list and settles once nothing made ahead of time is under way (before the run ends). */
  drain?(): Promise<void>;
}

/** A task whose worktree and branch may be made ahead of time, from the base its attempt will use. */
export interface AheadTask {
  id: string;
  branch: string;
  worktree: string;
  baseSha: string;
}

/** Why an attempt was stopped before its agent finished by itself. */
export type StopReason =
  /** The user interrupted the run (Ctrl-C, SIGTERM): the task is interrupted, resume continues it. */
  | 'user'
  /** The run was aborted by its environment (a full disk, claude logged out): interrupted too. */
  | 'abort'
  /** The attempt ran past its wall-clock limit: the task failed with reason `timeout`. */
  | 'timeout'
  /** The agent's stream was silent for too long (a hung stream): failed with reason `timeout`. */
  | 'inactivity';

export interface AttemptControl {
  /** Aborted (with a StopReason as its reason) when the attempt must stop: SIGTERM, then SIGKILL after the grace period. */
  signal: AbortSignal;
  /** Aborted when stopping must not wait for the grace period (a second Ctrl-C): SIGKILL now. */
  kill: AbortSignal;
  /** What the executor sees while the attempt runs. The returned promise settles once it is recorded. */
  update(update: AttemptUpdate): Promise<void>;
  /**
   * Settles once the attempt's start is on record (the registry says its task runs). The executor
   * may prepare meanwhile (worktree, setup), but starts no agent (queues no job) before: an agent
   * the registry does not know of would be one resume cannot find. A rejection means the start
   * could not be recorded: the attempt ends without an agent. Undefined: already on record.
   */
  recorded?: Promise<void> | undefined;
}

/** Waits until the attempt's start is on record (see AttemptControl.recorded): false when it never will be. */
export async function startRecorded(control: AttemptControl): Promise<boolean> {
  try {
    await control.recorded;
    return true;
  } catch {
    return false;
  }
}

export interface AttemptSpec {
  runId: string;
  /**
   * A task's own work (the default): its worktree and branch are made and prepared, its work is
   * committed on its branch. With `resolve`, an agent resolves a merge conflict left in place in
   * the existing integration worktree (`task.worktree`); orch verifies and concludes the merge.
   */
  resolve?: ResolveBrief | undefined;
  task: {
    id: string;
    title: string;
    /** The task's own text (its prompt file without frontmatter), as it was when the run started. */
    text: string;
    branch: string;
    worktree: string;
    /** Files the task declared it will touch. */
    files: string[];
    timeoutMs: number;
    model?: string | undefined;
    maxTurns?: number | undefined;
    /** The agent's `--max-budget-usd`: `agent.maxBudgetUsd`, capped by what is left of the run's budget. */
    maxBudgetUsd?: number | undefined;
  };
  attempt: {
    number: number;
    kind: AttemptKind;
    /** Where the agent's stdout, stderr and prompt go, relative to the run folder. */
    log: string;
    stderr: string;
    prompt: string;
  };
  base: { ref: string; sha: string };
  /**
   * Branches merged into a new worktree before its agent starts, so it builds on their work: the
   * task's dependencies, and the conflicting tasks that had succeeded before it started (so that
   * edits to the same files are sequential rather than conflicting). Their commits are not the
   * task's own.
   */
  mergeFirst: Array<{ branch: string; taskId: string; title: string; relation: 'dependency' | 'conflict' }>;
  /** A note for the agent: why this is not a first attempt. */
  note?: string | undefined;
  /** Continue this Claude session (`--resume`). */
  resumeSessionId?: string | undefined;
  /** Follow this agent, started by an orchestrator that died, instead of starting one. */
  adopt?: ProcessIdentity | undefined;
  /** Follow this job, queued for the workers by a coordinator that died, instead of queueing one. */
  reattach?: { jobId: string } | undefined;
  /** What earlier attempts already did in the same worktree. */
  worktree: {
    /** Merges, copies and setup completed once: a new attempt in it does not repeat them. */
    ready: boolean;
    /** Untracked files orch copied in (never committed by orch). */
    copiedFiles: string[];
    /** Ports held by an adopted agent. */
    ports: number[];
  };
}

/** What the merge agent is told: the two sides of the conflict. */
export interface ResolveBrief {
  integrationBranch: string;
  taskBranch: string;
  conflictFiles: string[];
  /** Already integrated tasks whose changes touch the conflicting files: the other side. */
  integrated: Array<{ taskId: string; title: string; text: string }>;
  /** The check the agent should run before committing, as the user wrote it. */
  check?: string | undefined;
}

export type AttemptUpdate =
  /** The agent process started. Recorded before anything else happens: resume adopts or stops it by this identity. */
  | { kind: 'agent'; identity: ProcessIdentity }
  | { kind: 'ports'; ports: number[] }
  /**
   * Preparation ended: the untracked files copied in so far and the setup time. `ready` when
   * dependency merges, copies and setup all completed (a later attempt in the worktree skips them).
   */
  | {
      kind: 'prepared';
      ready: boolean;
      copiedFiles: string[];
      setupMs?: number | undefined;
      /** Setup had completed in this worktree before and its key files are unchanged. */
      setupSkipped?: boolean | undefined;
      /** The worktree came from the warm pool. */
      fromPool?: boolean | undefined;
    }
  | { kind: 'session'; sessionId: string }
  | { kind: 'activity'; activity: string; turns: number }
  /** The attempt was queued for the workers as this job (recorded before it is queued: resume finds it by this id). */
  | { kind: 'job'; id: string; queue: string }
  /** A worker took the job (another one, when the first was lost). */
  | { kind: 'worker'; worker: { id: string; name: string; host: string } }
  /** The agent's CLI is retrying an API error: pressure on the account that the whole run should feel. */
  | { kind: 'api-retry'; status: number; retryDelayMs?: number | undefined }
  /**
   * The agent's CLI reported the plan's usage limit: used up (`rejected`) or close (`allowed_warning`),
   * with its reset (ms since epoch). The whole run should feel it.
   */
  | { kind: 'usage-limit'; status: 'rejected' | 'allowed_warning'; resetsAt?: number | undefined; limitType?: string | undefined }
  /**
   * The refs guard's findings: refs other than the task's branch that the agent changed (reported
   * before they are put back), or what could not be put back.
   */
  | { kind: 'refs'; changes: RefChange[]; problems: string[] }
  /** Something the user should know about the attempt, kept in the ledger (not a state change). */
  | { kind: 'warning'; message: string }
  /**
   * The agent and everything in its process group are gone, and its outcome reads as `outcome`
   * (its cost so far with it); what is left of the attempt is orch's own short work (the refs
   * guard's check, committing what the agent left), which may still fail it. Not a state change:
   * the engine may admit the next task meanwhile (see `Orchestrator.agentExited`).
   */
  | { kind: 'exited'; outcome: Outcome['status']; costUsd?: number | undefined };

export interface AttemptResult {
  outcome: Outcome;
  /** Set when the process could not be started at all (EAGAIN, ENOMEM, ENOENT…). */
  spawnError?: string | undefined;
  exit?: { exitCode: number | null; signal: string | null } | undefined;
  turns?: number | undefined;
  costUsd?: number | undefined;
  sessionId?: string | undefined;
  permissionDenials?: string[] | undefined;
  /** The task's own commits on its branch since the base, oldest first, once read. */
  commits?: Array<{ sha: string; subject: string }> | undefined;
}

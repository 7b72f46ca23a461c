import { z } from 'zod';
import { parseDuration } from '../util/duration.js';

/**
 * Tools a WorkflowManager run may use without asking: git, and the usual ways to build and test.
 * No bare `Edit` or `Write`: the acceptEdits permission mode already accepts edits inside the
 * agent's worktree, and such a rule would let its file tools write anywhere (verified with the
 * pinned CLI: the sandbox confines commands, not Claude Code's own file tools).
 */
export const DEFAULT_ALLOWED_TOOLS = [
  'Read',
  'Glob',
  'Grep',
  'Bash(git:*)',
  'Bash(npm test:*)',
  'Bash(npm run:*)',
  'Bash(npm install:*)',
  'Bash(npm ci:*)',
  'Bash(npx vitest:*)',
  'Bash(npx jest:*)',
  'Bash(npx tsc:*)',
  'Bash(pnpm test:*)',
  'Bash(pnpm run:*)',
  'Bash(yarn test:*)',
  'Bash(node:*)',
  'Bash(pytest:*)',
  'Bash(python -m pytest:*)',
  'Bash(make:*)',
  'Bash(cargo test:*)',
  'Bash(cargo build:*)',
  'Bash(go test:*)',
  'Bash(go build:*)',
  'Bash(mvn test:*)',
  'Bash(gradle test:*)',
];

/**
 * Git commands an agent may not run (`--disallowedTools`; Claude Code's deny list wins over its
 * allow list). They move or delete refs other than the agent's own, publish work, or rearrange
 * worktrees: the agent's branch is its own, nothing else is. Claude Code's rules match command
 * prefixes, so `git checkout` and `git reset --hard` are refused whatever they name (agents
 * restore files with `git restore`), and a command written another way (`git -C . push`, a
 * script) is not caught: the sandbox and the refs guard are what hold then.
 */
export const DEFAULT_DISALLOWED_TOOLS = [
  'Bash(git push:*)',
  'Bash(git worktree:*)',
  'Bash(git update-ref:*)',
  'Bash(git symbolic-ref:*)',
  'Bash(git branch -d:*)',
  'Bash(git branch -D:*)',
  'Bash(git branch --delete:*)',
  'Bash(git branch -f:*)',
  'Bash(git branch --force:*)',
  'Bash(git branch -m:*)',
  'Bash(git branch -M:*)',
  'Bash(git checkout:*)',
  'Bash(git switch:*)',
  'Bash(git reset --hard:*)',
];

/** Permission modes the Claude Code CLI accepts (`claude --help`). */
export const PERMISSION_MODES = ['acceptEdits', 'auto', 'bypassPermissions', 'manual', 'dontAsk', 'plan'] as const;

/** A duration written as "90s", "20m", "2h" or a number of seconds; parsed to milliseconds. */
const duration = z.union([z.string(), z.number()]).transform((value, context) => {
  const milliseconds = parseDuration(value);
  if (milliseconds === undefined) {
    context.addIssue({ code: 'custom', message: `must be a duration such as 90s, 20m or 2h (got ${JSON.stringify(value)})` });
    return z.NEVER;
  }
  return milliseconds;
});

const nonNegativeInt = z.number().int().min(0);
/** A file inside the worktree, named relative to it (no absolute path, no `..`). */
const relativeFile = z
  .string()
  .min(1)
  .refine((file) => !file.startsWith('/') && !file.split(/[\\/]/).includes('..'), {
    message: 'must be a path relative to the worktree, without ".."',
  });

export const configSchema = z.strictObject({
  /** The commit or branch every task branch starts from. */
  base: z.string().min(1).prefault('HEAD'),
  /** "auto" follows the machine and the API; a number caps that. */
  maxParallel: z.union([z.literal('auto'), z.number().int().min(1)]).prefault('auto'),
  agent: z
    .strictObject({
      bin: z.string().min(1).prefault('claude'),
      command: z.array(z.string()).min(1).nullable().prefault(null),
      output: z.enum(['stream-json', 'text']).prefault('stream-json'),
      model: z.string().min(1).nullable().prefault(null),
      maxTurns: z.number().int().min(1).nullable().prefault(null),
      permissionMode: z.enum(PERMISSION_MODES).prefault('acceptEdits'),
      allowedTools: z.array(z.string().min(1)).prefault(DEFAULT_ALLOWED_TOOLS),
      appendSystemPrompt: z.string().nullable().prefault(null),
      maxBudgetUsd: z.number().positive().nullable().prefault(null),
      extraArgs: z.array(z.string()).prefault([]),
      /**
       * Claude Code's own sandbox (bubblewrap on Linux, Seatbelt on macOS) around every command
       * an agent runs: "auto" uses it when the machine has it, true requires it, false never.
       */
      sandbox: z.union([z.literal('auto'), z.boolean()]).prefault('auto'),
      /** Hosts sandboxed commands may reach (package registries a project's setup and tests need). */
      sandboxNetwork: z.array(z.string().min(1)).prefault([]),
      /** --disallowedTools: what an agent may never run. */
      disallowedTools: z.array(z.string().min(1)).prefault(DEFAULT_DISALLOWED_TOOLS),
      /** Refs other than the task's branch that an agent changed are put back; "fail" also fails its attempt. */
      refsGuard: z.enum(['restore', 'fail']).prefault('restore'),
    })
    .prefault({}),
  worktree: z
    .strictObject({
      root: z.string().min(1).prefault('.gadugi/worktrees'),
      include: z.array(z.string().min(1)).prefault([]),
      setup: z.array(z.string().min(1)).prefault([]),
      /**
       * Files (relative to the worktree) whose content decides whether setup must run again in a
       * worktree where it already ran (one taken from the warm pool, or resumed): unchanged, it is skipped.
       */
      setupKey: z.array(relativeFile).prefault([]),
      ports: nonNegativeInt.max(100).prefault(0),
      /** Clean worktrees `orch clean` keeps for the next tasks instead of deleting them; 0 disables the pool. */
      pool: nonNegativeInt.max(256).prefault(8),
      /** While agents work, make the worktrees of the tasks admitted next (at most the limit). */
      ahead: z.boolean().prefault(true),
    })
    .prefault({}),
  timeouts: z
    .strictObject({
      task: duration.prefault('60m'),
      inactivity: duration.prefault('15m'),
      killGrace: duration.prefault('5s'),
    })
    .prefault({}),
  retries: z
    .strictObject({
      count: nonNegativeInt.max(20).prefault(1),
      backoff: duration.prefault('5s'),
      apiRequeues: nonNegativeInt.max(50).prefault(3),
    })
    .prefault({}),
  concurrency: z
    .strictObject({
      agentsPerCore: z.number().positive().prefault(2),
      // A real claude in its sandbox peaked at 240–291 MB on a one-file task (npm run bench); sessions grow from there.
      agentMemoryMb: z.number().int().min(1).prefault(300),
      memoryReserveMb: nonNegativeInt.prefault(1024),
      maxLoadPerCore: z.number().positive().prefault(2),
      sampleInterval: duration.prefault('3s'),
    })
    .prefault({}),
  api: z
    .strictObject({
      backoffBase: duration.prefault('15s'),
      backoffMax: duration.prefault('5m'),
      quietPeriod: duration.prefault('60s'),
      // A plan's usage limit that resets later than this stops the run (resumable, exit 75) instead of waiting.
      maxWait: duration.prefault('6h'),
    })
    .prefault({}),
  fallback: z
    .strictObject({
      enabled: z.boolean().prefault(true),
      failureThreshold: z.number().int().min(1).prefault(3),
    })
    .prefault({}),
  merge: z
    .strictObject({
      /** `run --merge`: integrate each task as soon as it succeeds. */
      enabled: z.boolean().prefault(false),
      /** Run after merges on the integration branch: one string through the shell, or an argv list. */
      check: z
        .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
        .nullable()
        .prefault(null),
      checkTimeout: duration.prefault('10m'),
      /** Check after every N merges; a failure is bisected to its culprit. */
      checkEvery: z.number().int().min(1).prefault(1),
      /** One plain commit per task instead of a merge commit. */
      squash: z.boolean().prefault(false),
      /** Let an agent resolve conflicts. */
      resolve: z.boolean().prefault(false),
      /** Fast-forward this branch to the integration branch at the end. */
      into: z.string().min(1).nullable().prefault(null),
    })
    .prefault({}),
  workers: z
    .strictObject({
      /** `run --workers`: the Redis URL of the workers' queue (redis://, rediss:// for TLS); null runs locally. */
      url: z.string().min(1).nullable().prefault(null),
      /** The git remote (a name or a URL) the code travels through between coordinator and workers. */
      remote: z.string().min(1).prefault('origin'),
    })
    .prefault({}),
  heartbeat: z
    .strictObject({
      interval: duration.prefault('2s'),
      staleAfter: duration.prefault('30s'),
    })
    .prefault({}),
  budget: z
    .strictObject({
      /** Once the run's recorded cost reaches this, no new task starts (null: no budget). */
      maxCostUsd: z.number().positive().nullable().prefault(null),
    })
    .prefault({}),
  hooks: z
    .strictObject({
      /** Run (argv, no shell) when a task ends: succeeded, failed or skipped. */
      onTaskEnd: z.array(z.string().min(1)).min(1).nullable().prefault(null),
      /** Run (argv, no shell) when the run ends, whatever its ending. */
      onRunEnd: z.array(z.string().min(1)).min(1).nullable().prefault(null),
      timeout: duration.prefault('30s'),
    })
    .prefault({}),
});

export type OrchConfig = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

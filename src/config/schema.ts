import * as z from '../util/zod.js';
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
const duration = z.pipe(
  z.union([z.string(), z.number()]),
  z.transform((value: string | number, context) => {
    const milliseconds = parseDuration(value);
    if (milliseconds === undefined) {
      context.issues.push({
        code: 'custom',
        message: `must be a duration such as 90s, 20m or 2h (got ${JSON.stringify(value)})`,
        input: value,
      });
      return z.NEVER;
    }
    return milliseconds;
  }),
);

// The schema is written with zod's mini API (src/util/zod.ts): checks are passed to `.check()`
// and wrappers are functions (`z.prefault(schema, value)` for the full API's `schema.prefault(value)`).
const text = () => z.string().check(z.minLength(1));
const texts = (defaults: readonly string[] = []) => z.prefault(z.array(text()), [...defaults]);
const int = (min: number, max?: number) =>
  z.number().check(...(max === undefined ? [z.int(), z.minimum(min)] : [z.int(), z.minimum(min), z.maximum(max)]));
const positive = () => z.number().check(z.positive());
/** A value that may be null, which it is by default. */
const orNull = <T extends z.core.SomeType>(schema: T) => z.prefault(z.nullable(schema), null);
/** A group of settings, all of them defaulted when it is left out. */
const group = <T extends z.core.$ZodLooseShape>(shape: T) => {
  const schema = z.strictObject(shape);
  return z.prefault(schema, {} as z.input<typeof schema>);
};
/** A file inside the worktree, named relative to it (no absolute path, no `..`). */
const relativeFile = text().check(
  z.refine((file) => !file.startsWith('/') && !file.split(/[\\/]/).includes('..'), {
    message: 'must be a path relative to the worktree, without ".."',
  }),
);

export const configSchema = z.strictObject({
  /** The commit or branch every task branch starts from. */
  base: z.prefault(text(), 'HEAD'),
  /** "auto" follows the machine and the API; a number caps that. */
  maxParallel: z.prefault(z.union([z.literal('auto'), int(1)]), 'auto'),
  agent: group({
    bin: z.prefault(text(), 'claude'),
    command: orNull(z.array(z.string()).check(z.minLength(1))),
    output: z.prefault(z.enum(['stream-json', 'text']), 'stream-json'),
    model: orNull(text()),
    maxTurns: orNull(int(1)),
    permissionMode: z.prefault(z.enum(PERMISSION_MODES), 'acceptEdits'),
    allowedTools: texts(DEFAULT_ALLOWED_TOOLS),
    appendSystemPrompt: orNull(z.string()),
    maxBudgetUsd: orNull(positive()),
    extraArgs: z.prefault(z.array(z.string()), []),
    /**
     * Claude Code's own sandbox (bubblewrap on Linux, Seatbelt on macOS) around every command
     * an agent runs: "auto" uses it when the machine has it, true requires it, false never.
     */
    sandbox: z.prefault(z.union([z.literal('auto'), z.boolean()]), 'auto'),
    /** Hosts sandboxed commands may reach (package registries a project's setup and tests need). */
    sandboxNetwork: texts(),
    /** --disallowedTools: what an agent may never run. */
    disallowedTools: texts(DEFAULT_DISALLOWED_TOOLS),
    /** Refs other than the task's branch that an agent changed are put back; "fail" also fails its attempt. */
    refsGuard: z.prefault(z.enum(['restore', 'fail']), 'restore'),
  }),
  worktree: group({
    root: z.prefault(text(), '.gadugi/worktrees'),
    include: texts(),
    setup: texts(),
    /**
     * Files (relative to the worktree) whose content decides whether setup must run again in a
     * worktree where it already ran (one taken from the warm pool, or resumed): unchanged, it is skipped.
     */
    setupKey: z.prefault(z.array(relativeFile), []),
    ports: z.prefault(int(0, 100), 0),
    /** Clean worktrees `orch clean` keeps for the next tasks instead of deleting them; 0 disables the pool. */
    pool: z.prefault(int(0, 256), 8),
    /** While agents work, make the worktrees of the tasks admitted next (at most the limit). */
    ahead: z.prefault(z.boolean(), true),
  }),
  timeouts: group({
    task: z.prefault(duration, '60m'),
    inactivity: z.prefault(duration, '15m'),
    killGrace: z.prefault(duration, '5s'),
  }),
  retries: group({
    count: z.prefault(int(0, 20), 1),
    backoff: z.prefault(duration, '5s'),
    apiRequeues: z.prefault(int(0, 50), 3),
  }),
  concurrency: group({
    agentsPerCore: z.prefault(positive(), 2),
    // A real claude in its sandbox peaked at 240–291 MB on a one-file task (npm run bench); sessions grow from there.
    agentMemoryMb: z.prefault(int(1), 300),
    memoryReserveMb: z.prefault(int(0), 1024),
    maxLoadPerCore: z.prefault(positive(), 2),
    sampleInterval: z.prefault(duration, '3s'),
  }),
  api: group({
    backoffBase: z.prefault(duration, '15s'),
    backoffMax: z.prefault(duration, '5m'),
    quietPeriod: z.prefault(duration, '60s'),
    // A plan's usage limit that resets later than this stops the run (resumable, exit 75) instead of waiting.
    maxWait: z.prefault(duration, '6h'),
  }),
  fallback: group({
    enabled: z.prefault(z.boolean(), true),
    failureThreshold: z.prefault(int(1), 3),
  }),
  merge: group({
    /** `run --merge`: integrate each task as soon as it succeeds. */
    enabled: z.prefault(z.boolean(), false),
    /** Run after merges on the integration branch: one string through the shell, or an argv list. */
    check: orNull(z.union([text(), z.array(text()).check(z.minLength(1))])),
    checkTimeout: z.prefault(duration, '10m'),
    /** Check after every N merges; a failure is bisected to its culprit. */
    checkEvery: z.prefault(int(1), 1),
    /** One plain commit per task instead of a merge commit. */
    squash: z.prefault(z.boolean(), false),
    /** Let an agent resolve conflicts. */
    resolve: z.prefault(z.boolean(), false),
    /** Fast-forward this branch to the integration branch at the end. */
    into: orNull(text()),
  }),
  workers: group({
    /** `run --workers`: the Redis URL of the workers' queue (redis://, rediss:// for TLS); null runs locally. */
    url: orNull(text()),
    /** The git remote (a name or a URL) the code travels through between coordinator and workers. */
    remote: z.prefault(text(), 'origin'),
  }),
  heartbeat: group({
    interval: z.prefault(duration, '2s'),
    staleAfter: z.prefault(duration, '30s'),
  }),
  budget: group({
    /** Once the run's recorded cost reaches this, no new task starts (null: no budget). */
    maxCostUsd: orNull(positive()),
  }),
  hooks: group({
    /** Run (argv, no shell) when a task ends: succeeded, failed or skipped. */
    onTaskEnd: orNull(z.array(text()).check(z.minLength(1))),
    /** Run (argv, no shell) when the run ends, whatever its ending. */
    onRunEnd: orNull(z.array(text()).check(z.minLength(1))),
    timeout: z.prefault(duration, '30s'),
  }),
});

export type OrchConfig = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { mkdir, readdir, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { SandboxState } from '../agent/sandbox.js';
import type { ConfigInput, OrchConfig } from '../config/schema.js';
import { environmentError } from '../errors.js';
import type { EventSink } from '../events.js';
import type { Analysis } from '../graph/analyze.js';
import { selfIdentity } from '../process/process-info.js';
import {
  STATE_DIR,
  branchName,
  runPaths,
  runPathsIn,
  startingDir,
  worktreePath,
  worktreeRootInRepo,
  type RunPaths,
} from '../state/paths.js';
import type { Registry, RunRecord, TaskRecord } from '../state/registry.js';
import { withoutSecrets } from '../workers/redis-url.js';
import { writeRegistry } from '../state/registry-file.js';
import { RunStore } from '../state/store.js';
import { excludeStateDir } from '../worktree/git.js';

/**
 * Sortable and unique: `20261121-180102-4173` (UTC second, then its millisecond and one random hex
 * digit). Commands that take the latest run (`status`, `resume`, `wait`…) sort ids, so two runs
 * started in the same second must sort as they started: a random suffix alone did not. Two runs in
 * the same millisecond differ by the last digit (15 in 16), and one that does not cannot take the
 * other's folder (it is made aside and renamed into place, which fails on an existing run).
 */
export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const millisecond = String(now.getUTCMilliseconds()).padStart(3, '0');
  return `${stamp}-${millisecond}${randomBytes(1).toString('hex').slice(1)}`;
}

export interface NewRun {
  repoRoot: string;
  runId?: string | undefined;
  config: OrchConfig;
  /** The config as merged from file, environment and flags, before defaults: resume re-reads it. */
  configInput: ConfigInput;
  analysis: Analysis;
  baseRef: string;
  baseSha: string;
  baseBranch?: string | undefined;
  promptFiles: string[];
  detached: boolean;
  /** `run --workers`: where the attempts go. */
  workers?: RunRecord['workers'];
  sandbox: SandboxState;
}

/**
 * Creates `.gadugi/runs/<run-id>/` with its registry, task texts and first ledger line. The folder
 * is filled as `.gadugi/runs/.<run-id>.starting/` and renamed into place, so `status`, `wait` and `clean`
 * never meet a run folder without a registry.
 */
export async function createRun(input: NewRun, sink: EventSink): Promise<RunStore> {
  const runId = input.runId ?? newRunId();
  const staging = runPathsIn(startingDir(input.repoRoot, runId));
  const paths = runPaths(input.repoRoot, runId);
  let registry: Registry;
  try {
    registry = await writeNewRun(input, runId, staging);
    await rename(staging.dir, paths.dir);
  } catch (error) {
    await removePartialRun(staging);
    throw (
      environmentError(
        error,
        `cannot create the run folder ${paths.dir}`,
        'free some space or fix the permissions of .gadugi, then run orch again.',
      ) ?? error
    );
  }
  const store = RunStore.create(paths, registry, sink);
  await store.record({
    type: 'run-started',
    runId,
    baseRef: input.baseRef,
    baseSha: input.baseSha,
    tasks: registry.tasks.length,
    maxParallel: input.config.maxParallel,
    resumed: false,
    detached: input.detached,
  });
  return store;
}

/**
 * Nothing half-written: a run that could not be created completely does not exist. A detached
 * run's orch.log stays, so the process that launched it can show why (and then removes it).
 */
async function removePartialRun(paths: RunPaths): Promise<void> {
  try {
    for (const entry of await readdir(paths.dir)) {
      if (path.join(paths.dir, entry) !== paths.orchLog) await rm(path.join(paths.dir, entry), { recursive: true, force: true });
    }
    if ((await readdir(paths.dir)).length === 0) await rmdir(paths.dir);
  } catch {
    // best effort: the error that got us here is what the user needs to see
  }
}

/** Writes the run's folder at `paths` (the staging place) and returns its first registry. */
async function writeNewRun(input: NewRun, runId: string, paths: RunPaths): Promise<Registry> {
  const worktreeRoot = path.resolve(input.repoRoot, input.config.worktree.root);
  await mkdir(paths.logs, { recursive: true });
  await mkdir(paths.prompts, { recursive: true });
  await mkdir(paths.tasks, { recursive: true });
  await excludeStateDir(input.repoRoot);
  // A worktree root inside the repository (but outside .gadugi/) must not show in `git status` either.
  const rootInRepo = worktreeRootInRepo(input.repoRoot, worktreeRoot);
  if (rootInRepo && rootInRepo !== STATE_DIR && !rootInRepo.startsWith(`${STATE_DIR}/`))
    await excludeStateDir(input.repoRoot, `/${rootInRepo}/`);

  for (const task of input.analysis.tasks) await writeFile(path.join(paths.tasks, `${task.id}.md`), task.body);

  const now = new Date().toISOString();
  const self = selfIdentity();
  const tasks: TaskRecord[] = input.analysis.tasks.map((task) => {
    const record: TaskRecord = {
      id: task.id,
      title: task.title,
      promptFile: task.file,
      dependsOn: task.dependsOn,
      files: task.files,
      priority: task.priority,
      order: task.order,
      status: 'pending',
      worktree: worktreePath(worktreeRoot, runId, task.id),
      branch: branchName(runId, task.id),
      attempts: 0,
      retriesUsed: 0,
      apiRequeues: 0,
      attemptLog: [],
      permissionDenials: [],
      commits: [],
    };
    if (task.timeoutMs !== undefined) record.timeoutMs = task.timeoutMs;
    if (task.maxTurns !== undefined) record.maxTurns = task.maxTurns;
    if (task.model !== undefined) record.model = task.model;
    return record;
  });
  const registry: Registry = {
    run: {
      version: 1,
      id: runId,
      repoRoot: input.repoRoot,
      baseRef: input.baseRef,
      baseSha: input.baseSha,
      ...(input.baseBranch ? { baseBranch: input.baseBranch } : {}),
      promptFiles: input.promptFiles,
      worktreeRoot,
      config: withoutSecrets(input.configInput),
      conflicts: input.analysis.conflicts,
      orchestrator: { ...self, host: hostname() },
      sessions: [{ pid: process.pid, startedAt: now }],
      startedAt: now,
      heartbeatAt: now,
      status: 'running',
      mode: 'parallel',
      limit: { value: 0, reason: 'cores' },
      detached: input.detached,
      ...(input.workers ? { workers: input.workers } : {}),
      sandbox: { enabled: input.sandbox.enabled, summary: input.sandbox.summary },
    },
    tasks,
  };
  await writeRegistry(paths.registry, registry);
  return registry;
}

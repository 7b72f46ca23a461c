import { readdir, rm, rmdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig } from '../config/load.js';
import { UserError, errorMessage } from '../errors.js';
import { execFile } from '../process/exec-file.js';
import { isAlive, type ProcessIdentity } from '../process/process-info.js';
import { runPaths, runsDir, stateDir, type RunPaths } from '../state/paths.js';
import type { Registry, TaskRecord } from '../state/registry.js';
import { readRegistry } from '../state/registry-file.js';
import { listRunIds, loadRun } from '../state/runs.js';
import { statusLines, statusLinesOfEachOrFailed } from '../worktree/list.js';
import { GitMutex } from '../worktree/mutex.js';
import { poolDir, pooledRegistrations, pooledWorktrees, putEachInPool, trimPool } from '../worktree/pool.js';
import { emptyRemoving, moveAside, removeEmptied, removingDir } from '../worktree/remove.js';
import { checkoutUnfinished } from '../worktree/unfinished.js';
import { liveView } from './status.js';
import { pathExists } from '../util/fs.js';

// What only some cleans need (--branches, --target, --kill-orphans, a run on workers) is imported
// when they need it: the common clean loads neither simple-git nor execa.

export interface CleanOptions {
  runId?: string | undefined;
  all: boolean;
  purge: boolean;
  branches: boolean;
  force: boolean;
  dryRun: boolean;
  killOrphans: boolean;
  /** The branch task branches are compared with; default: the branch each run started from. */
  target?: string | undefined;
  /** How many clean worktrees the warm pool keeps (0 empties it); default: `worktree.pool` in the config. */
  pool?: number | undefined;
}

export interface CleanAction {
  /** The run it is about; '' for the warm pool and the git lock, which belong to no run. */
  run: string;
  kind: 'run' | 'agent' | 'worktree' | 'branch' | 'remote-ref' | 'run-folder' | 'pool' | 'lock';
  target: string;
  result: 'removed' | 'deleted' | 'stopped' | 'kept' | 'skipped' | 'pooled';
  reason?: string;
}

/** A worktree and branch the run made: a task's, or the merge queue's. */
interface Checkout {
  key: string;
  worktree: string;
  branch: string;
  copiedFiles: readonly string[];
  /** A live agent working in it. */
  agent?: ProcessIdentity | undefined;
  /** The integration branch the merge queue recorded its work on. */
  integratedInto?: string | undefined;
}

/**
 * What `git status` says of a worktree (its lines): its uncommitted or untracked paths leaving out
 * the files orch copied into it (`unsaved`), and whether it has any untracked path at all (copies included).
 */
function worktreeStatus(checkout: Checkout, lines: string[]): { unsaved: string[]; untracked: boolean } {
  const copied = new Set(checkout.copiedFiles);
  return {
    unsaved: lines.map((line) => line.slice(3).replace(/^"|"$/g, '')).filter((file) => !copied.has(file)),
    untracked: lines.length > 0,
  };
}

/** `git status` of many worktrees at once: git processes run on both cores while this one waits. */
const STATUS_CONCURRENCY = 4;

/** A run clean will work on: its registry could be read and nothing alive owns it. */
interface Candidate {
  id: string;
  paths: RunPaths;
  registry: Registry;
  /** What its task branches are compared with (with --branches). */
  target?: string | undefined;
}

/**
 * `orch clean`: removes worktrees whose work is safely on their branch, optionally the branches
 * whose commits are safe elsewhere and the run folders. Never touches a live run; never removes
 * unsaved work or unmerged commits unless forced. Everything that can be wrong with the request
 * (an unknown run, a --target that does not exist, a run whose base branch is gone) is found
 * before anything is removed.
 */
export async function clean(repoRoot: string, env: NodeJS.ProcessEnv, options: CleanOptions): Promise<CleanAction[]> {
  const actions: CleanAction[] = [];
  const note = (action: CleanAction): void => {
    actions.push(action);
  };
  const candidates = await selectRuns(repoRoot, env, options, note);
  if (options.branches) await chooseTargets(repoRoot, candidates, options.target);

  // The git lock of an orch killed holding it, taken over at once when its holder is gone: listed.
  const mutex = new GitMutex(stateDir(repoRoot), {
    notice: (notice) => {
      if (notice.action === 'removed') note({ run: '', kind: 'lock', target: notice.lock, result: 'removed', reason: notice.because });
    },
  });
  // Only --branches asks which branches remain (simple-git, loaded then).
  const remainingBranches = options.branches
    ? new Set((await (await import('../worktree/simple-git.js')).gitAt(repoRoot).branchLocal()).all)
    : new Set<string>();
  const { config } = await loadConfig(repoRoot, env);
  const capacity = options.pool ?? config.worktree.pool;
  // git is asked which worktrees are pooled only when its files show any registered in a pool.
  const pool = { capacity, size: capacity > 0 && (await pooledRegistrations(repoRoot)) > 0 ? (await pooledWorktrees(repoRoot)).length : 0 };
  // Where worktrees are moved aside before they are deleted: each run's worktree root, and the configured one.
  const removing = new Set([removingDir(path.resolve(repoRoot, config.worktree.root))]);
  const context: CleanContext = { mutex, remainingBranches, pool, note, pruned: false, deleting: [] };
  for (const candidate of candidates) {
    removing.add(removingDir(candidate.registry.run.worktreeRoot));
    await cleanRun(repoRoot, env, candidate, options, context);
  }
  if (options.purge && !options.runId) for (const action of await purgeAbandonedStarts(repoRoot, options.dryRun)) note(action);
  // The worktrees moved aside (by this clean, or by one killed before it deleted them) are deleted
  // while the pool is trimmed: git has forgotten them already, and trimming touches only the pool.
  // Each run's were being deleted since they were moved aside; the other folders' now.
  const started = new Set(context.deleting.map(({ dir }) => dir));
  const deleted = options.dryRun
    ? Promise.resolve()
    : Promise.all([...context.deleting.map(({ done }) => done), emptyRemoving([...removing].filter((dir) => !started.has(dir)))]);
  deleted.catch(() => undefined);
  await trimThePool(repoRoot, mutex, capacity, options.dryRun, note);
  await deleted;
  if (!options.dryRun) await removeEmptied(removing);
  if (!options.dryRun && !context.pruned) await mutex.run(() => execFile('git', ['worktree', 'prune'], { cwd: repoRoot }));
  return actions;
}

/** Removes pooled worktrees beyond the pool's capacity (all of them with `--pool 0`). */
async function trimThePool(
  repoRoot: string,
  mutex: GitMutex,
  capacity: number,
  dryRun: boolean,
  note: (action: CleanAction) => void,
): Promise<void> {
  if (dryRun) {
    for (const entry of (await pooledWorktrees(repoRoot)).slice(capacity)) {
      note({ run: '', kind: 'pool', target: path.relative(repoRoot, entry.path) || entry.path, result: 'removed' });
    }
    return;
  }
  // Nothing to trim (no more registered in pools than it may hold): neither the lock nor git is needed.
  if ((await pooledRegistrations(repoRoot)) <= capacity) return;
  for (const trimmed of await mutex.run(() => trimPool(repoRoot, capacity))) {
    const target = path.relative(repoRoot, trimmed.path) || trimmed.path;
    if (trimmed.removed) note({ run: '', kind: 'pool', target, result: 'removed' });
    else note({ run: '', kind: 'pool', target, result: 'kept', reason: `git refused to remove it: ${trimmed.reason}` });
  }
}

/** The runs to clean; the others are noted as skipped, with why (or, for `--run`, refused). */
async function selectRuns(
  repoRoot: string,
  env: NodeJS.ProcessEnv,
  options: CleanOptions,
  note: (action: CleanAction) => void,
): Promise<Candidate[]> {
  const candidates: Candidate[] = [];
  const loaded: Array<{ id: string; paths: RunPaths; registry?: Registry; error?: unknown }> = [];
  if (options.runId) {
    const { paths, registry } = await loadRun(repoRoot, options.runId);
    loaded.push({ id: options.runId, paths, registry });
  } else {
    for (const id of await listRunIds(repoRoot)) {
      const paths = runPaths(repoRoot, id);
      try {
        loaded.push({ id, paths, registry: await readRegistry(paths.registry) });
      } catch (error) {
        loaded.push({ id, paths, error });
      }
    }
  }
  for (const { id, paths, registry, error } of loaded) {
    if (!registry) {
      note({ run: id, kind: 'run', target: id, result: 'skipped', reason: errorMessage(error) });
      continue;
    }
    const view = await liveView(registry, env);
    if (view.run.orchestratorAlive && registry.run.status === 'running') {
      if (options.runId) {
        throw new UserError(
          `run ${id} is running (orch pid ${registry.run.orchestrator.pid} is alive): clean refuses to touch a live run; stop it first.`,
        );
      }
      note({ run: id, kind: 'run', target: id, result: 'skipped', reason: 'still running' });
      continue;
    }
    if (view.run.liveness === 'stale' && !options.all && !options.runId) {
      note({
        run: id,
        kind: 'run',
        target: id,
        result: 'skipped',
        reason: `unfinished (its orchestrator is gone): \`orch resume ${id}\`, or clean it with --all or --run ${id}`,
      });
      continue;
    }
    candidates.push({ id, paths, registry });
  }
  return candidates;
}

/** The branch each run's task branches are compared with: --target, else the branch the run started from. */
async function chooseTargets(repoRoot: string, candidates: Candidate[], target: string | undefined): Promise<void> {
  const { branchExists, branchOf } = await import('../worktree/git.js');
  if (target !== undefined) {
    if (!(await branchExists(repoRoot, target))) {
      throw new UserError(
        `--target "${target}" is not a branch of this repository: pass the branch task branches are merged into (e.g. main).`,
      );
    }
    for (const candidate of candidates) candidate.target = target;
    return;
  }
  const current = await branchOf(repoRoot, 'HEAD');
  for (const candidate of candidates) {
    const { baseBranch } = candidate.registry.run;
    if (baseBranch !== undefined && !(await branchExists(repoRoot, baseBranch))) {
      throw new UserError(
        `run ${candidate.id} started from branch "${baseBranch}", which no longer exists: pass --target <branch> to say which branch its task branches were merged into.`,
      );
    }
    candidate.target = baseBranch ?? current;
  }
}

interface CleanContext {
  mutex: GitMutex;
  /** The warm pool: how many worktrees it may hold, and holds now (counting those this clean put in). */
  pool: { capacity: number; size: number };
  /** Local branches that will still exist: a task branch whose commits are on one of them is safe to delete. */
  remainingBranches: Set<string>;
  note: (action: CleanAction) => void;
  /** Whether this clean has run `git worktree prune` yet. */
  pruned: boolean;
  /** Deletions of moved-aside worktrees under way, by `.removing` folder (started as soon as a run's worktrees are moved there). */
  deleting: Array<{ dir: string; done: Promise<void> }>;
}

async function cleanRun(
  repoRoot: string,
  env: NodeJS.ProcessEnv,
  candidate: Candidate,
  options: CleanOptions,
  context: CleanContext,
): Promise<void> {
  const { id, paths, registry } = candidate;
  const { mutex, remainingBranches, note } = context;

  // Agents still running under a dead orchestrator: stopped only when asked.
  const liveAgents = registry.tasks.filter((task) => isAlive(task.agent));
  if (liveAgents.length > 0 && options.killOrphans && !options.dryRun) await stopOrphans(repoRoot, env, candidate, liveAgents, note);
  const stillAlive = new Set(registry.tasks.filter((task) => isAlive(task.agent)).map((task) => task.id));

  // Every checkout the run made: its tasks', then the merge queue's (last, so task branches are
  // judged while the integration branch, which may hold their work, still exists).
  const integration = registry.run.merge;
  const checkouts: Checkout[] = registry.tasks.map((task) => ({
    key: task.id,
    worktree: task.worktree,
    branch: task.branch,
    copiedFiles: task.copiedFiles ?? [],
    agent: stillAlive.has(task.id) ? task.agent : undefined,
    integratedInto: task.merge?.status === 'merged' && integration ? integration.branch : undefined,
  }));
  if (integration)
    checkouts.push({
      key: '@integration',
      worktree: integration.worktree,
      branch: integration.branch,
      copiedFiles: integration.copiedFiles ?? [],
    });

  // First the questions, many at once and outside the git lock: which worktrees exist, and what
  // `git status` says of each one no agent works in.
  const exists = await Promise.all(checkouts.map((checkout) => pathExists(checkout.worktree)));
  const present = checkouts.flatMap((checkout, index) => (exists[index] && !checkout.agent ? [index] : []));
  // A worktree whose checkout never finished (orch died in the middle of it) holds nothing of an
  // agent's: its missing files would read as uncommitted deletions, so its answer is not used (git
  // is asked while this is found out; it writes nothing there).
  const [unfinished, asked] = await Promise.all([
    Promise.all(
      checkouts.map((checkout, index) =>
        exists[index] && !checkout.agent ? checkoutUnfinished(checkout.worktree) : Promise.resolve(false),
      ),
    ),
    statusLinesOfEachOrFailed(
      present.map((index) => checkouts[index]!.worktree),
      STATUS_CONCURRENCY,
    ),
  ]);
  // A worktree where git failed is asked again on its own: it fails with git's own error.
  const answerOf = new Map(
    await Promise.all(
      present.map(
        async (index, position) =>
          [index, unfinished[index] ? [] : (asked[position] ?? (await statusLines(checkouts[index]!.worktree)))] as const,
      ),
    ),
  );
  const statuses = checkouts.map((checkout, index) =>
    exists[index] && !checkout.agent
      ? unfinished[index]
        ? { unsaved: [], untracked: false }
        : worktreeStatus(checkout, answerOf.get(index)!)
      : undefined,
  );

  // Then what to do with each: kept, or changed below (pooled or removed). Noted in their order.
  const keptWorktrees = new Set<string>();
  const noted: Array<CleanAction | undefined> = checkouts.map(() => undefined);
  const changes: Array<{ index: number; checkout: Checkout; where: string; unsaved: string[]; untracked: boolean; unfinished: boolean }> =
    [];
  checkouts.forEach((checkout, index) => {
    const status = statuses[index];
    if (!exists[index]) return;
    const where = path.relative(repoRoot, checkout.worktree) || checkout.worktree;
    if (checkout.agent || !status) {
      keptWorktrees.add(checkout.key);
      noted[index] = {
        run: id,
        kind: 'worktree',
        target: where,
        result: 'kept',
        reason:
          options.dryRun && options.killOrphans
            ? `agent pid ${checkout.agent!.pid} would be stopped first`
            : `agent pid ${checkout.agent!.pid} is still running in it (--kill-orphans stops it)`,
      };
      return;
    }
    const { unsaved } = status;
    if (unsaved.length > 0 && !options.force) {
      keptWorktrees.add(checkout.key);
      noted[index] = {
        run: id,
        kind: 'worktree',
        target: where,
        result: 'kept',
        reason: `${unsaved.length} uncommitted or untracked file${unsaved.length === 1 ? '' : 's'} (${unsaved.slice(0, 3).join(', ')}${unsaved.length > 3 ? ', …' : ''}); --force removes it anyway`,
      };
      return;
    }
    changes.push({ index, checkout, where, ...status, unfinished: unfinished[index] === true });
  });

  // Then the changes, all in one hold of the git lock: a clean worktree goes to the warm pool while
  // it has room (a dirty one never does, even with --force); the others are moved aside, deleted
  // with the rest at the end of the clean.
  const removing = removingDir(registry.run.worktreeRoot);
  const apply = async (): Promise<void> => {
    const rest: typeof changes = [];
    for (const change of changes) {
      if (!change.unfinished) {
        rest.push(change);
        continue;
      }
      // Locked by orch while its checkout was under way: git removes it only when told twice.
      if (!options.dryRun) await execFile('git', ['worktree', 'remove', '--force', '--force', change.checkout.worktree], { cwd: repoRoot });
      noted[change.index] = {
        run: id,
        kind: 'worktree',
        target: change.where,
        result: 'removed',
        reason: 'its checkout never finished (no agent worked in it)',
      };
    }
    // The clean ones, in their order, fill the pool's room; one git would not move goes with the rest.
    const pooled = new Set<number>();
    let clean = rest.filter((change) => change.unsaved.length === 0);
    while (clean.length > 0 && context.pool.size < context.pool.capacity) {
      const batch = clean.slice(0, context.pool.capacity - context.pool.size);
      clean = clean.slice(batch.length);
      const pool = poolDir(registry.run.worktreeRoot);
      const destinations = options.dryRun
        ? batch.map(() => pool)
        : await putEachInPool(
            repoRoot,
            pool,
            batch.map(({ checkout, untracked }) => ({ worktree: checkout.worktree, untracked })),
          );
      batch.forEach(({ index, where }, position) => {
        const destination = destinations[position];
        if (destination === undefined) return;
        context.pool.size += 1;
        pooled.add(index);
        noted[index] = {
          run: id,
          kind: 'worktree',
          target: where,
          result: 'pooled',
          reason: `kept for the next tasks in ${path.relative(repoRoot, destination) || destination}`,
        };
      });
    }
    // The others are renamed aside, all at once, and deleted from then on while git forgets them.
    const leaving = rest.filter(({ index }) => !pooled.has(index));
    const moved = options.dryRun
      ? leaving.map(() => true)
      : await Promise.all(leaving.map(({ checkout }) => moveAside(removing, checkout.worktree)));
    if (!options.dryRun && moved.some(Boolean)) {
      const done = emptyRemoving([removing]);
      done.catch(() => undefined);
      context.deleting.push({ dir: removing, done });
    }
    for (const [position, { index, checkout, where, unsaved }] of leaving.entries()) {
      // One that cannot go by a rename (locked, on another file system) is git's to remove; a locked one git refuses.
      if (!moved[position]) {
        const removal = await execFile('git', ['worktree', 'remove', '--force', checkout.worktree], { cwd: repoRoot, reject: false });
        if (removal.exitCode !== 0) {
          keptWorktrees.add(checkout.key);
          const why =
            removal.stderr
              .trim()
              .split('\n')[0]
              ?.replace(/^fatal: /, '') ?? '';
          noted[index] = { run: id, kind: 'worktree', target: where, result: 'kept', reason: `git refused to remove it: ${why}` };
          continue;
        }
      }
      const removed: CleanAction = { run: id, kind: 'worktree', target: where, result: 'removed' };
      if (unsaved.length > 0) removed.reason = `${unsaved.length} unsaved file${unsaved.length === 1 ? '' : 's'} discarded (--force)`;
      noted[index] = removed;
    }
    if (options.dryRun) return;
    // git forgets the worktrees moved aside (and any other whose folder is gone, such as those a
    // clean killed here left), so their branches are no longer checked out anywhere.
    await execFile('git', ['worktree', 'prune'], { cwd: repoRoot });
    context.pruned = true;
  };
  if (options.dryRun) await apply();
  else await mutex.run(apply);
  for (const action of noted) if (action) note(action);

  if (options.branches) {
    const [{ branchVerdict }, { gitAt }] = await Promise.all([import('../worktree/merged.js'), import('../worktree/simple-git.js')]);
    for (const checkout of checkouts) {
      if (!remainingBranches.has(checkout.branch)) continue;
      if (keptWorktrees.has(checkout.key)) {
        note({ run: id, kind: 'branch', target: checkout.branch, result: 'kept', reason: 'checked out in a worktree that was kept' });
        continue;
      }
      const others = new Set([...remainingBranches].filter((branch) => branch !== checkout.branch));
      let verdict = await branchVerdict(repoRoot, checkout.branch, candidate.target, others);
      // A squashed task's commits are not on the integration branch, its changes are: the queue recorded it integrated.
      if (!verdict.safe && checkout.integratedInto && remainingBranches.has(checkout.integratedInto)) {
        verdict = { safe: true, reason: `its changes were integrated into ${checkout.integratedInto} (squashed)` };
      }
      if (!verdict.safe && !options.force) {
        note({ run: id, kind: 'branch', target: checkout.branch, result: 'kept', reason: `${verdict.reason}; --force deletes it anyway` });
        continue;
      }
      if (!options.dryRun) await mutex.run(() => gitAt(repoRoot).raw(['branch', '-D', checkout.branch]));
      remainingBranches.delete(checkout.branch);
      note({
        run: id,
        kind: 'branch',
        target: checkout.branch,
        result: 'deleted',
        reason: verdict.safe ? verdict.reason : `${verdict.reason} (--force)`,
      });
    }
  }

  if (options.branches && registry.run.workers) await cleanRemoteRefs(repoRoot, candidate, checkouts, options, context);

  const worktreeRunDir = path.join(registry.run.worktreeRoot, id);
  if (!options.dryRun && keptWorktrees.size === 0 && (await pathExists(worktreeRunDir)) && (await readdir(worktreeRunDir)).length === 0) {
    await rmdir(worktreeRunDir);
  }
  if (options.purge) {
    const where = path.relative(repoRoot, paths.dir);
    if (keptWorktrees.size > 0) {
      note({ run: id, kind: 'run-folder', target: where, result: 'kept', reason: 'it still records worktrees that were kept' });
    } else {
      if (!options.dryRun) await rm(paths.dir, { recursive: true, force: true });
      note({ run: id, kind: 'run-folder', target: where, result: 'removed' });
    }
  }
}

/**
 * A run on workers left its refs on the remote (`refs/orch/<run>/…`: its base, start points and
 * the task branches workers pushed). A task's ref goes with its local branch (whose work was
 * judged safe, or --force); the base and start points once no task ref is left.
 */
async function cleanRemoteRefs(
  repoRoot: string,
  candidate: Candidate,
  checkouts: readonly Checkout[],
  options: CleanOptions,
  context: CleanContext,
): Promise<void> {
  const [{ CoordinatorGit }, { firstGitLine }] = await Promise.all([import('../workers/coordinator-git.js'), import('../worker/clone.js')]);
  const { id, registry } = candidate;
  const remote = registry.run.workers!.remote;
  const git = new CoordinatorGit(repoRoot, remote);
  let refs: string[];
  try {
    refs = await git.runRefsOnRemote(id);
  } catch (error) {
    context.note({
      run: id,
      kind: 'remote-ref',
      target: `${remote} refs/orch/${id}/*`,
      result: 'kept',
      reason: `the remote cannot be reached: ${firstGitLine(error)}`,
    });
    return;
  }
  const taskOf = new Map(checkouts.map((checkout) => [`refs/orch/${id}/tasks/${checkout.key}`, checkout]));
  const doomed = refs.filter((ref) => {
    const checkout = taskOf.get(ref);
    return checkout !== undefined && !context.remainingBranches.has(checkout.branch);
  });
  const tasksLeft = refs.some((ref) => ref.startsWith(`refs/orch/${id}/tasks/`) && !doomed.includes(ref));
  if (!tasksLeft) doomed.push(...refs.filter((ref) => !ref.startsWith(`refs/orch/${id}/tasks/`)));
  if (doomed.length === 0) return;
  if (!options.dryRun) {
    try {
      await git.deleteRemoteRefs(doomed);
    } catch (error) {
      context.note({
        run: id,
        kind: 'remote-ref',
        target: `${remote} refs/orch/${id}/*`,
        result: 'kept',
        reason: `the remote refused: ${firstGitLine(error)}`,
      });
      return;
    }
  }
  for (const ref of doomed) context.note({ run: id, kind: 'remote-ref', target: ref, result: 'deleted' });
}

/**
 * `--kill-orphans`: stops agents still running under a dead orchestrator (only recorded pids,
 * verified by start time, by their process group), as the run's single writer: each task
 * stopped this way is recorded as interrupted, in the registry and the ledger.
 */
async function stopOrphans(
  repoRoot: string,
  env: NodeJS.ProcessEnv,
  candidate: Candidate,
  liveAgents: TaskRecord[],
  note: (action: CleanAction) => void,
): Promise<void> {
  const [{ acquireRunLock }, { RunStore }, { ProcessGroup }, { markFinished }] = await Promise.all([
    import('../state/run-lock.js'),
    import('../state/store.js'),
    import('../process/process-group.js'),
    import('../engine/transitions.js'),
  ]);
  const { id, paths, registry } = candidate;
  const release = await acquireRunLock(paths, registry.run.orchestrator, () => undefined);
  try {
    const { config } = await loadConfig(repoRoot, env, [], registry.run.config);
    const store = await RunStore.open(paths, registry, () => undefined);
    for (const task of liveAgents) {
      await ProcessGroup.adopt(task.agent!).stop(config.timeouts.killGrace);
      if (task.status === 'running') {
        await store.record(
          markFinished(
            task,
            'interrupted',
            { reason: 'agent stopped by orch clean --kill-orphans' },
            task.attemptLog.at(-1),
            new Date().toISOString(),
          ),
        );
      }
      note({ run: id, kind: 'agent', target: `${task.id} (pid ${task.agent!.pid})`, result: 'stopped' });
    }
    await store.save();
  } finally {
    await release();
  }
}

/** A run is put together in seconds at most (see startingDir); one this old was abandoned (kill -9). */
const ABANDONED_START_MS = 10 * 60_000;

/** Hidden `.<run-id>.starting` folders left by an orch killed while creating its run. */
async function purgeAbandonedStarts(repoRoot: string, dryRun: boolean): Promise<CleanAction[]> {
  const actions: CleanAction[] = [];
  const entries = await readdir(runsDir(repoRoot), { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const match = /^\.(.+)\.starting$/.exec(entry.name);
    if (!match || !entry.isDirectory()) continue;
    const dir = path.join(runsDir(repoRoot), entry.name);
    const modified = await stat(dir).then(
      (info) => info.mtimeMs,
      () => undefined,
    );
    if (modified === undefined || Date.now() - modified < ABANDONED_START_MS) continue;
    if (!dryRun) await rm(dir, { recursive: true, force: true });
    actions.push({
      run: match[1]!,
      kind: 'run-folder',
      target: path.relative(repoRoot, dir),
      result: 'removed',
      reason: 'abandoned while the run was being created',
    });
  }
  return actions;
}

import type { Registry } from '../state/registry.js';
import { integrationBranchName } from '../state/paths.js';
import { branchExists } from '../worktree/git.js';
import { gitAt } from '../worktree/simple-git.js';
import { describeCheck } from './check.js';
import { commitTree, integratedTasks, integrationMessage, previewMerge } from './git-merge.js';
import { mergeOrder, readiness, type MergeCandidate } from './order.js';
import type { MergeSettings } from './queue.js';

export type PlanStep =
  | { taskId: string; kind: 'merge' }
  | { taskId: string; kind: 'conflict'; files: string[] }
  | { taskId: string; kind: 'held'; reason: string }
  | { taskId: string; kind: 'integrated' };

export interface MergePlan {
  runId: string;
  branch: string;
  head: string;
  steps: PlanStep[];
  /** Task branches that conflict with each other, whatever the order. */
  pairwise: Array<{ a: string; b: string; files: string[] }>;
  check?: string | undefined;
  checkEvery: number;
  resolve: boolean;
}

/**
 * `orch merge --dry-run`: the whole plan, merge by merge, predicted with `git merge-tree` on
 * commits that exist only in the object store (no ref, no worktree, no registry changes), and the
 * pairs of task branches that conflict with each other.
 */
export async function planMerge(registry: Registry, settings: MergeSettings): Promise<MergePlan> {
  const { run } = registry;
  const root = run.repoRoot;
  const branch = integrationBranchName(run.id);
  const exists = await branchExists(root, branch);
  let head = exists ? branch : run.baseSha;
  const already = exists ? await integratedTasks(root, run.baseSha, run.id, branch) : new Map<string, string>();
  const candidates = new Map<string, MergeCandidate>(
    registry.tasks.map((task) => [
      task.id,
      {
        id: task.id,
        status: task.status,
        order: task.order,
        dependsOn: task.dependsOn,
        builtOn: task.builtOn ?? [],
        mergeStatus: already.has(task.id) ? 'merged' : task.merge?.status === 'merged' ? 'pending' : task.merge?.status,
      },
    ]),
  );
  const steps: PlanStep[] = [];
  for (const id of mergeOrder([...candidates.values()])) {
    const candidate = candidates.get(id)!;
    if (already.has(id)) {
      steps.push({ taskId: id, kind: 'integrated' });
      continue;
    }
    if (candidate.status !== 'succeeded') continue;
    // What the queue would decide, were the earlier steps done.
    const ready = readiness({ ...candidate, mergeStatus: 'pending' }, candidates);
    if (ready.kind === 'held' || ready.kind === 'wait') {
      const reason = ready.kind === 'held' ? ready.reason : `${ready.for} would not be integrated`;
      steps.push({ taskId: id, kind: 'held', reason });
      candidate.mergeStatus = 'held';
      continue;
    }
    const task = registry.tasks.find((entry) => entry.id === id)!;
    const preview = await previewMerge(root, head, task.branch);
    if (!preview.clean) {
      steps.push({ taskId: id, kind: 'conflict', files: preview.files });
      candidate.mergeStatus = settings.resolve ? 'merged' : 'conflict';
      continue;
    }
    steps.push({ taskId: id, kind: 'merge' });
    candidate.mergeStatus = 'merged';
    head = await commitTree(
      root,
      preview.tree,
      [head, task.branch],
      integrationMessage(`orch: merge task ${id} (dry run)`, run.id, id, task.branch),
    );
  }

  const pairwise: MergePlan['pairwise'] = [];
  const succeeded = registry.tasks.filter((task) => task.status === 'succeeded');
  for (let i = 0; i < succeeded.length; i++) {
    for (let j = i + 1; j < succeeded.length; j++) {
      const a = succeeded[i]!;
      const b = succeeded[j]!;
      const preview = await previewMerge(root, a.branch, b.branch).catch(() => undefined);
      if (preview && !preview.clean) pairwise.push({ a: a.id, b: b.id, files: preview.files });
    }
  }
  return {
    runId: run.id,
    branch,
    head: exists ? (await gitAt(root).raw(['rev-parse', branch])).trim() : run.baseSha,
    steps,
    pairwise,
    check: settings.check ? describeCheck(settings.check) : undefined,
    checkEvery: settings.checkEvery,
    resolve: settings.resolve,
  };
}

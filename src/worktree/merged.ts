import { execa } from 'execa';
import { gitAt } from './simple-git.js';

export interface BranchVerdict {
  /** True when deleting the branch loses no commit: its changes exist elsewhere. */
  safe: boolean;
  reason: string;
}

/** `git patch-id --stable` over a patch (or a `git log -p` of many): patch id per commit header. */
async function patchIds(root: string, patches: string): Promise<string[]> {
  if (!patches.trim()) return [];
  const { stdout } = await execa('git', ['patch-id', '--stable'], { cwd: root, input: patches });
  return stdout
    .split('\n')
    .map((line) => line.split(/\s+/)[0] ?? '')
    .filter(Boolean);
}

/**
 * Whether a task branch's work is safe without it: reachable from another branch (`others`,
 * the branches that will remain), or already in `target` by patch — cherry-picked, rebased
 * (`git cherry`), or squash-merged (the branch's whole diff equals one commit on the target).
 */
export async function branchVerdict(
  root: string,
  branch: string,
  target: string | undefined,
  others: ReadonlySet<string>,
): Promise<BranchVerdict> {
  const git = gitAt(root);
  const tip = (await git.raw(['rev-parse', '--verify', `${branch}^{commit}`])).trim();
  const containing = (await git.raw(['branch', '--format=%(refname:short)', '--contains', tip]))
    .split('\n')
    .map((name) => name.trim())
    .filter((name) => name && name !== branch && others.has(name));
  if (containing.length > 0) return { safe: true, reason: `its commits are on ${containing[0]}` };
  if (!target) return { safe: false, reason: 'its commits are on no other branch' };

  const cherry = (await git.raw(['cherry', target, branch])).split('\n').filter((line) => line.trim());
  const unmerged = cherry.filter((line) => line.startsWith('+')).length;
  if (unmerged === 0) return { safe: true, reason: `its changes are in ${target}` };

  // A squash merge: the branch's combined diff appears as a single commit on the target.
  const mergeBase = (await git.raw(['merge-base', target, branch])).trim();
  const [combined] = await patchIds(root, `commit ${tip}\n\n${await git.raw(['diff', mergeBase, branch])}`);
  if (combined) {
    const onTarget = await patchIds(root, await git.raw(['log', '-p', '--no-merges', '--format=commit %H', `${mergeBase}..${target}`]));
    if (onTarget.includes(combined)) return { safe: true, reason: `it was squash-merged into ${target}` };
  }
  return { safe: false, reason: `${unmerged} commit${unmerged === 1 ? '' : 's'} not on ${target} or any other branch` };
}

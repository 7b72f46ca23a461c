import { chmod, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * A post-checkout hook in `repo` that proves two checkouts overlap. In the worktrees named
 * `pair`, the hook says it began (an empty file `<what>-began-<name>` in `state`), then waits up
 * to a minute for the other's word: were the checkouts serialized, the first would wait in vain
 * and fail its checkout, leaving `<what>-in-vain-<name>` in `state` (orch may check out again
 * after a failed hook: the returned function lists those files, so a test fails on them).
 * `onlyIf`, a shell condition on the hook's arguments ($1 the old HEAD, $2 the new one), limits
 * the hook to some checkouts (e.g. switches of pooled worktrees).
 */
export async function installRendezvousHook(
  repo: string,
  state: string,
  options: { pair: readonly [string, string]; what: string; onlyIf?: string },
): Promise<() => Promise<string[]>> {
  const [a, b] = options.pair;
  const began = (name: string): string => `"${state}/${options.what}-began-${name}"`;
  const hook = path.join(repo, '.git', 'hooks', 'post-checkout');
  await writeFile(
    hook,
    `#!/bin/sh
${options.onlyIf ? `${options.onlyIf} || exit 0` : ''}
me=$(basename "$PWD")
case "$me" in ${a}) other=${b} ;; ${b}) other=${a} ;; *) exit 0 ;; esac
: > ${began('$me')}
i=0
while [ ! -e ${began('$other')} ]; do
  i=$((i + 1))
  if [ $i -gt 600 ]; then : > "${state}/${options.what}-in-vain-$me"; echo "the ${options.what} of $other never began while $me's was under way" >&2; exit 1; fi
  sleep 0.1
done
`,
  );
  await chmod(hook, 0o755);
  return async () => (await readdir(state)).filter((name) => name.startsWith(`${options.what}-in-vain-`));
}

import type { Command } from 'commander';
import { UserError } from '../../errors.js';
import { requireRepoRoot } from '../../worktree/repo.js';
import { parseDuration } from '../../util/duration.js';
import type { CommandContext } from '../context.js';
import { EXIT } from '../../domain/exit-codes.js';

export function registerWait(program: Command, context: CommandContext): void {
  program
    .command('wait')
    .description('block until a run (and an orch merge of it) ends; exit with its code (0, 1, 75, 130), or 124 if the timeout passes first')
    .argument('[run-id]', 'the run to wait for (default: the latest)')
    .option('--timeout <duration>', 'give up after this long, e.g. 300 (seconds), 5m')
    .action(async (runId: string | undefined, options: { timeout?: string }) => {
      const timeoutMs = options.timeout === undefined ? undefined : parseDuration(options.timeout);
      if (options.timeout !== undefined && timeoutMs === undefined)
        throw new UserError(`--timeout "${options.timeout}" is not a duration: use seconds (300) or a duration such as 5m.`);
      const [{ countStatuses }, { formatCounts }, { countMergeStatuses, waitForRun }] = await Promise.all([
        import('../../engine/summary.js'),
        import('../../render/format.js'),
        import('../../commands/wait.js'),
      ]);
      const repoRoot = await requireRepoRoot(context.cwd);
      const result = await waitForRun(repoRoot, runId, timeoutMs);
      const { run } = result.registry;
      const counts = formatCounts(countStatuses(result.registry.tasks));
      switch (result.kind) {
        case 'finished': {
          context.out(`run ${run.id} ${run.status} (exit ${run.exitCode ?? EXIT.failed}): ${counts}`);
          if (run.reason) context.err(`orch: ${run.reason}`);
          // A run merged with `orch merge`: the merge is its last step, and its code is the one returned.
          const merge = run.merge?.orchestrator ? run.merge : undefined;
          if (merge) {
            context.out(
              `merge of run ${run.id} ${merge.status} (exit ${merge.exitCode ?? EXIT.failed}): ${formatCounts(countMergeStatuses(result.registry.tasks))}`,
            );
          }
          context.setExitCode(merge ? (merge.exitCode ?? EXIT.failed) : (run.exitCode ?? EXIT.failed));
          return;
        }
        case 'stale':
          context.err(
            result.session === 'run'
              ? `orch: run ${run.id} stopped without finishing: its orchestrator (pid ${run.orchestrator.pid}) is gone; \`orch resume ${run.id}\` finishes it.`
              : `orch: the merge of run ${run.id} stopped without finishing: its orch merge (pid ${run.merge?.orchestrator?.pid}) is gone; \`orch merge ${run.id}\` continues it.`,
          );
          context.setExitCode(EXIT.failed);
          return;
        case 'timeout':
          context.out(
            result.session === 'run'
              ? `run ${run.id} is still running after ${options.timeout}: ${counts}`
              : `run ${run.id} is still being merged after ${options.timeout}: ${formatCounts(countMergeStatuses(result.registry.tasks))}`,
          );
          context.setExitCode(EXIT.waitTimeout);
          return;
      }
    });
}

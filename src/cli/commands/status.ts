import type { Command } from 'commander';
import { requireRepoRoot } from '../../worktree/repo.js';
import type { CommandContext } from '../context.js';
import { EXIT } from '../../domain/exit-codes.js';

interface StatusOptions {
  json?: boolean;
  all?: boolean;
  watch?: boolean;
}

export function registerStatus(program: Command, context: CommandContext): void {
  program
    .command('status')
    .description('show a run (default: the latest) with the liveness of its orchestrator and agents')
    .argument('[run-id]', 'the run to show')
    .option('--all', 'list every run with its counts')
    .option('--watch', 'refresh until the run ends')
    .option('--json', 'print {"run":{…},"tasks":[…]} (or {"runs":[…]} with --all)')
    .action(async (runId: string | undefined, options: StatusOptions) => {
      // git looks for the repository while the command's modules load.
      const repoRootFound = requireRepoRoot(context.cwd);
      repoRootFound.catch(() => undefined);
      const [{ renderRunList, renderStatus }, { listRuns, loadStatus }] = await Promise.all([
        import('../../render/status.js'),
        import('../../commands/status.js'),
      ]);
      const repoRoot = await repoRootFound;
      if (options.all) {
        const { runs, unreadable } = await listRuns(repoRoot, context.env);
        context.out(options.json ? JSON.stringify({ runs, unreadable }, null, 2) : renderRunList(runs, unreadable));
        context.setExitCode(EXIT.ok);
        return;
      }
      let view = await loadStatus(repoRoot, runId, context.env);
      if (!options.watch) {
        context.out(options.json ? JSON.stringify(view, null, 2) : renderStatus(view));
        context.setExitCode(EXIT.ok);
        return;
      }
      // --watch: redraw every second while the run is live; a pinned run id keeps it steady.
      const { setTimeout: sleep } = await import('node:timers/promises');
      const pinned = runId ?? view.run.id;
      const tty = process.stdout.isTTY === true && (process.stdout.columns ?? 0) > 0 && !options.json;
      if (tty) {
        // On a terminal: the same dashboard `orch run` shows, redrawn in place, then the full status.
        const [{ createLogUpdate }, { renderDashboard }] = await Promise.all([import('log-update'), import('../../render/dashboard.js')]);
        const screen = createLogUpdate(process.stdout);
        while (view.run.liveness === 'running') {
          screen(renderDashboard(view, { now: Date.now(), columns: process.stdout.columns, rows: process.stdout.rows }));
          await sleep(1000);
          view = await loadStatus(repoRoot, pinned, context.env);
        }
        screen.clear();
        screen.done();
        context.out(renderStatus(view));
        context.setExitCode(EXIT.ok);
        return;
      }
      let previous = '';
      for (;;) {
        const text = options.json ? JSON.stringify(view) : renderStatus(view);
        if (text !== previous) context.out(text);
        previous = text;
        if (view.run.liveness !== 'running') break;
        await sleep(1000);
        view = await loadStatus(repoRoot, pinned, context.env);
      }
      context.setExitCode(EXIT.ok);
    });
}

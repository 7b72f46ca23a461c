import type { Command } from 'commander';
import { requireRepoRoot } from '../../worktree/repo.js';
import type { CommandContext } from '../context.js';
import { EXIT } from '../../domain/exit-codes.js';
import { runPaths } from '../../state/paths.js';

interface ReportOptions {
  html?: string;
  open?: boolean;
}

export function registerReport(program: Command, context: CommandContext): void {
  program
    .command('report')
    .description('a run (default: the latest) as a report: timeline, dependency and conflict graph, tasks, totals')
    .argument('[run-id]', 'the run to report on')
    .option('--html <file>', 'write a self-contained HTML report (opens from disk, no network)')
    .option('--open', 'open the HTML report in the browser (written to the run folder without --html)')
    .action(async (runId: string | undefined, options: ReportOptions) => {
      const [{ loadReport, openFile, writeReport }, { renderReportText }, { renderReportHtml }] = await Promise.all([
        import('../../commands/report.js'),
        import('../../render/report-text.js'),
        import('../../render/report-html.js'),
      ]);
      const repoRoot = await requireRepoRoot(context.cwd);
      const model = await loadReport(repoRoot, runId);
      if (options.html === undefined && !options.open) {
        context.out(renderReportText(model));
        context.setExitCode(EXIT.ok);
        return;
      }
      const file = options.html ?? `${runPaths(repoRoot, model.run.id).dir}/report.html`;
      const written = await writeReport(context.cwd, file, renderReportHtml(model));
      context.out(`wrote ${written}`);
      if (options.open) await openFile(written, context.env);
      context.setExitCode(EXIT.ok);
    });
}

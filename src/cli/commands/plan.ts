import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { EXIT } from '../../domain/exit-codes.js';

export function registerPlan(program: Command, context: CommandContext): void {
  program
    .command('plan')
    .description('show the tasks, their dependencies, file conflicts and waves, without running anything')
    .argument('<prompts...>', 'prompt files, globs or directories of .md files')
    .option('--json', 'print one JSON object instead of text')
    .action(async (prompts: string[], options: { json?: boolean }) => {
      const [{ loadAnalysis, planSandbox }, { planToJson, renderPlan }] = await Promise.all([
        import('../../commands/analysis.js'),
        import('../../render/plan.js'),
      ]);
      const analysis = await loadAnalysis(prompts, context.cwd);
      const sandbox = await planSandbox(context.cwd, context.env);
      context.out(options.json ? JSON.stringify(planToJson(analysis, sandbox), null, 2) : renderPlan(analysis, sandbox));
      context.setExitCode(EXIT.ok);
    });
}

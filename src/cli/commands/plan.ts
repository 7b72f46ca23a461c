import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { EXIT } from '../../domain/exit-codes.js';

export function registerPlan(program: Command, context: CommandContext): void {
  program
    .command('plan')
    .description('show the tasks, their dependencies, file conflicts, waves and critical path, without running anything')
    .argument('<prompts...>', 'prompt files, globs or directories of .md files')
    .option('--json', 'print one JSON object instead of text')
    .option('--max-parallel <n>', 'agents at once for the expected length of the run (default: the config, else the cores)')
    .action(async (prompts: string[], options: { json?: boolean; maxParallel?: string }) => {
      const [{ loadAnalysis, planSandbox }, { loadPlanSchedule }, { planToJson, renderPlan }] = await Promise.all([
        import('../../commands/analysis.js'),
        import('../../commands/plan-schedule.js'),
        import('../../render/plan.js'),
      ]);
      const analysis = await loadAnalysis(prompts, context.cwd);
      const sandbox = await planSandbox(context.cwd, context.env);
      const schedule = await loadPlanSchedule(analysis, context.cwd, context.env, options.maxParallel);
      context.out(
        options.json ? JSON.stringify(planToJson(analysis, sandbox, schedule), null, 2) : renderPlan(analysis, sandbox, schedule),
      );
      context.setExitCode(EXIT.ok);
    });
}

import type { Command } from 'commander';
import { findRepoRoot } from '../../worktree/repo.js';
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
      // git starts looking for the repository while the command's modules load.
      const repoRoot = findRepoRoot(context.cwd);
      repoRoot.catch(() => undefined);
      const [{ loadPlan }, { planToJson, renderPlan }, { compileMarkdownRulesOnce }, { setFlagsFromString }] = await Promise.all([
        import('../../commands/plan-schedule.js'),
        import('../../render/plan.js'),
        import('../../prompt/markdown.js'),
        import('node:v8'),
      ]);
      // marked's rules compiled once, straight to machine code (src/prompt/markdown.ts).
      compileMarkdownRulesOnce(setFlagsFromString);
      const { analysis, sandbox, schedule } = await loadPlan(prompts, {
        cwd: context.cwd,
        env: context.env,
        maxParallel: options.maxParallel,
        repoRoot,
      });
      context.out(
        options.json ? JSON.stringify(planToJson(analysis, sandbox, schedule), null, 2) : renderPlan(analysis, sandbox, schedule),
      );
      context.setExitCode(EXIT.ok);
    });
}

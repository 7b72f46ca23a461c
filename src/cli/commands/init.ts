import type { Command } from 'commander';
import { requireRepoRoot } from '../../worktree/repo.js';
import type { CommandContext } from '../context.js';
import { EXIT } from '../../domain/exit-codes.js';

export function registerInit(program: Command, context: CommandContext): void {
  program
    .command('init')
    .description(
      'add the /orchestrate slash command, the workflow-manager agent, a documented config and the orch MCP server (.mcp.json) to this repository',
    )
    .option('--force', 'overwrite files that already exist')
    .action(async (options: { force?: boolean }) => {
      const [{ initRepository }, { renderInit }] = await Promise.all([import('../../commands/init.js'), import('../../render/init.js')]);
      const repoRoot = await requireRepoRoot(context.cwd);
      context.out(renderInit(await initRepository(repoRoot, options.force === true)));
      context.setExitCode(EXIT.ok);
    });
}

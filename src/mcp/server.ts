import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { registerResources } from './resources.js';
import { registerTools, type McpContext } from './tools.js';

export type { McpContext } from './tools.js';

/**
 * `orch mcp`: orch as an MCP server. The tools are the CLI's commands over the same core
 * functions (queue tasks, plan, run, status, wait, logs, merge, cancel, resume), with typed
 * inputs and structured results; the runs are resources. Long work runs in detached orch
 * processes that own their runs, so no call blocks beyond its own time limit, and a run goes
 * on when the client goes away.
 */
export function createOrchServer(context: McpContext, version: string): McpServer {
  const server = new McpServer(
    { name: 'orch', title: 'orch', version },
    {
      instructions:
        'orch runs many Claude Code agents in parallel, one git worktree and branch per task. Queue tasks with add_tasks, check them ' +
        'with plan, start them with run (it returns at once), poll with wait until done is true, then read status; merge lands the work.',
    },
  );
  registerTools(server, context);
  registerResources(server, context);
  return server;
}

import { ResourceTemplate, type McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { McpContext } from './tools.js';

const JSON_TYPE = 'application/json';

/**
 * The repository's runs as MCP resources, for clients to show: `orch://runs` (every run, as
 * `orch status --all --json`) and `orch://runs/<id>` (one run, as `orch status <id> --json`).
 */
export function registerResources(server: McpServer, context: McpContext): void {
  // Loaded on first use, like the tools' core modules: the server starts without them.
  const core = async () => {
    const [{ listRuns, loadStatus }, { requireRepoRoot }] = await Promise.all([
      import('../commands/status.js'),
      import('../worktree/repo.js'),
    ]);
    return { listRuns, loadStatus, repoRoot: () => requireRepoRoot(context.cwd) };
  };
  const runs = async () => {
    const { listRuns, repoRoot } = await core();
    return listRuns(await repoRoot(), context.env);
  };

  server.registerResource(
    'runs',
    'orch://runs',
    { title: 'orch runs', description: 'Every run in this repository with its status and counts', mimeType: JSON_TYPE },
    async (uri) => ({ contents: [{ uri: uri.href, mimeType: JSON_TYPE, text: JSON.stringify(await runs()) }] }),
  );

  server.registerResource(
    'run',
    new ResourceTemplate('orch://runs/{run_id}', {
      list: async () => ({
        resources: (await runs()).runs.map((run) => ({
          uri: `orch://runs/${run.id}`,
          name: run.id,
          description: `run ${run.id}: ${run.liveness}`,
          mimeType: JSON_TYPE,
        })),
      }),
    }),
    { title: 'orch run', description: 'One run: the run and every task, as orch status --json gives it', mimeType: JSON_TYPE },
    async (uri, variables) => {
      const { loadStatus, repoRoot } = await core();
      const view = await loadStatus(await repoRoot(), decodeURIComponent(String(variables.run_id)), context.env);
      return { contents: [{ uri: uri.href, mimeType: JSON_TYPE, text: JSON.stringify(view) }] };
    },
  );
}

import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { readPackageVersion } from '../version.js';
import { EXIT } from '../../domain/exit-codes.js';
import { UserError } from '../../errors.js';

export function registerMcp(program: Command, context: CommandContext): void {
  program
    .command('mcp')
    .description(
      'serve orch to an MCP client over stdio: add_tasks, plan, run, status, wait, logs, merge, cancel, resume (orch init registers it)',
    )
    .action(async () => {
      // A committed .mcp.json is in every task worktree, and `claude -p` starts project servers without asking:
      // an agent works on its task and starts no runs of its own, so it gets no server (and no extra process).
      const { ORCH_RUN_ID: run, ORCH_TASK_ID: task } = context.env;
      if (run && task)
        throw new UserError(`not serving inside an orch agent (task ${task} of run ${run}): agents do not start runs of their own.`);
      const [{ createOrchServer }, { trackPendingRequests }, { StdioServerTransport }] = await Promise.all([
        import('../../mcp/server.js'),
        import('../../mcp/pending.js'),
        import('@modelcontextprotocol/sdk/server/stdio.js'),
      ]);
      // stdout carries the protocol and nothing else: anything printed by mistake goes to stderr.
      console.log = console.error;
      console.info = console.error;
      console.debug = console.error;
      const log = (line: string): void => void process.stderr.write(`${line}\n`);
      const server = createOrchServer({ cwd: context.cwd, env: context.env, log }, readPackageVersion());
      const transport = new StdioServerTransport(process.stdin, process.stdout);
      // A line that is not a JSON-RPC message is the client's mistake: said here, and the server goes on.
      transport.onerror = (error) => log(`orch mcp: ${error.message}`);
      await server.connect(transport);
      const requests = trackPendingRequests(transport);
      const closed = new Promise<string>((resolve) => {
        // A client that stops sending still gets the answers to what it asked.
        process.stdin.once('end', () => void requests.idle().then(() => resolve('its client closed stdin')));
        // EPIPE: the client is gone while an answer was being written.
        process.stdout.on('error', (error: Error) => resolve(`cannot write to the client: ${error.message}`));
        process.once('SIGINT', () => resolve('SIGINT'));
        process.once('SIGTERM', () => resolve('SIGTERM'));
        server.server.onclose = () => resolve('the connection closed');
      });
      log(`orch mcp: serving ${context.cwd} (orch ${readPackageVersion()})`);
      const reason = await closed;
      await server.close();
      log(`orch mcp: stopped: ${reason}`);
      context.setExitCode(EXIT.ok);
      // A call still under way (a run being handed to its background process) must not keep a closed server alive;
      // the runs it started belong to their own processes and go on.
      setTimeout(() => process.exit(EXIT.ok), 1000).unref();
    });
}

import type { Command } from 'commander';
import { EXIT } from '../../domain/exit-codes.js';
import type { CommandContext } from '../context.js';
import { handleStopSignals } from '../signals.js';
import { readPackageVersion } from '../version.js';

interface WorkerOptions {
  connect?: string;
  workdir?: string;
  slots?: string;
  allowRemote?: string[];
  includeFrom?: string;
  name?: string;
  stallTimeout?: string;
  claudeBin?: string;
  json?: boolean;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function registerWorker(program: Command, context: CommandContext): void {
  program
    .command('worker')
    .description('run attempts for coordinators (`orch run --workers`) on this machine, until stopped with Ctrl-C or SIGTERM')
    .option('--connect <redis-url>', 'the Redis of the queue: redis://[:password@]host:6379[/db], rediss:// for TLS (or ORCH_WORKERS)')
    .option('--workdir <dir>', "where this worker keeps its clones, worktrees and the agents' output (one worker per workdir)")
    .option('--slots <n|auto>', 'attempts at once: a number, or auto (what this machine allows now, like a local run; default)')
    .option('--allow-remote <pattern>', 'run jobs of remotes matching this URL or path (globs allowed; repeatable; required)', collect)
    .option('--include-from <dir>', 'a checkout on this machine to copy .worktreeinclude files (.env…) from')
    .option('--name <name>', 'how this worker is shown in orch status and orch workers (default: the host name)')
    .option('--stall-timeout <duration>', "a job's lock lives this long without renewal; then another worker runs it (default 30s)")
    .option('--claude-bin <path>', 'the claude this worker runs (default: ORCH_CLAUDE_BIN, or claude on PATH)')
    .option('--json', 'print NDJSON events instead of text')
    .action(async (options: WorkerOptions) => {
      const [{ prepareWorker }, { describeWorkerEvent }] = await Promise.all([
        import('../../commands/worker.js'),
        import('../../render/worker.js'),
      ]);
      const worker = await prepareWorker(
        {
          cwd: context.cwd,
          env: context.env,
          connect: options.connect,
          workdir: options.workdir,
          slots: options.slots,
          allowRemote: options.allowRemote ?? [],
          includeFrom: options.includeFrom,
          name: options.name,
          stallTimeout: options.stallTimeout,
          claudeBin: options.claudeBin,
          version: readPackageVersion(),
        },
        (event) => context.out(options.json ? JSON.stringify({ ...event, at: new Date().toISOString() }) : describeWorkerEvent(event)),
      );
      let stopped: Promise<void> | undefined;
      const signals = handleStopSignals(() => undefined);
      try {
        await worker.start();
        await new Promise<void>((resolve) => {
          signals.attach({
            interrupt: () => {
              stopped ??= worker.stop().finally(resolve);
            },
            killNow: () => worker.killNow(),
          });
        });
        await stopped;
      } finally {
        signals.dispose();
      }
      context.setExitCode(EXIT.ok);
    });

  program
    .command('workers')
    .description('list the live workers on a Redis: host, slots, running tasks, heartbeat age')
    .option('--connect <redis-url>', 'the Redis of the queue (or ORCH_WORKERS)')
    .option('--json', 'print {"workers":[…]}')
    .action(async (options: { connect?: string; json?: boolean }) => {
      const [{ listWorkers }, { renderWorkers }] = await Promise.all([
        import('../../commands/worker.js'),
        import('../../render/worker.js'),
      ]);
      const { target, workers } = await listWorkers(options.connect, context.env);
      context.out(options.json ? JSON.stringify({ workers }, null, 2) : renderWorkers(target.where, workers, Date.now()));
      context.setExitCode(EXIT.ok);
    });
}

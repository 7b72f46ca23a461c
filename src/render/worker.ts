import chalk from 'chalk';
import type { WorkerEvent } from '../worker/events.js';
import type { WorkerInfo } from '../workers/directory.js';
import { formatDuration } from '../util/duration.js';
import { colorStatus, shortSha } from './format.js';

/** One line per thing an `orch worker` does. */
export function describeWorkerEvent(event: WorkerEvent): string {
  switch (event.type) {
    case 'ready':
      return `worker ${chalk.bold(event.name)} ready: ${event.slots} slot${event.slots === 1 ? '' : 's'}, workdir ${event.workdir}, Redis ${event.redis}, allows ${event.allow.join(', ')}\n${event.sandbox}`;
    case 'leftover':
      return event.leftover.kind === 'agent'
        ? chalk.yellow(
            `stopped agent pid ${event.leftover.pid} (${event.leftover.taskId}, run ${event.leftover.runId}) left by a worker that died here`,
          )
        : chalk.yellow(`kept ${event.leftover.from} as ${event.leftover.to} (left by a worker that died here)`);
    case 'serving':
      return `taking jobs of ${event.remote}`;
    case 'probe-failed':
      return chalk.red(`cannot take jobs of ${event.remote}: ${event.message}`);
    case 'job-started':
      return `${colorStatus('running', '▶')} ${chalk.bold(event.taskId)} (run ${event.runId}, attempt ${event.attempt}, from ${event.coordinator})`;
    case 'job-finished': {
      const pushed = event.pushed ? `, pushed ${shortSha(event.pushed)}` : '';
      return `${colorStatus(event.status, event.status === 'succeeded' ? '✓' : '✗')} ${chalk.bold(event.taskId)} ${colorStatus(event.status)}${pushed}${event.reason ? `: ${event.reason}` : ''}`;
    }
    case 'job-refused':
      return chalk.red(`refused job ${event.jobId}: ${event.reason}`);
    case 'job-returned':
      return chalk.yellow(`${event.taskId}: interrupted, its work pushed, back in the queue for another worker`);
    case 'job-lost':
      return chalk.red(`${event.taskId}: lost its job (another worker runs it now); its work here is kept aside`);
    case 'slots':
      return chalk.dim(`slots: ${event.slots}`);
    case 'lock':
      return chalk.yellow(event.message);
    case 'redis-error':
      return chalk.yellow(`Redis: ${event.message} (reconnecting)`);
    case 'stopping':
      return chalk.yellow(
        `stopping: taking no more jobs${event.running > 0 ? `, handing ${event.running} back to the queue` : ''} (Ctrl-C again kills the agents now)`,
      );
    case 'stopped':
      return 'worker stopped';
  }
}

/** `orch workers`: a table of the live workers. */
export function renderWorkers(where: string, workers: readonly WorkerInfo[], now: number): string {
  if (workers.length === 0) return `no live worker on ${where}`;
  const rows = workers.map((worker) => [
    worker.name,
    worker.host,
    String(worker.slots),
    worker.running.length === 0 ? '-' : worker.running.map((job) => `${job.taskId} (${job.runId})`).join(', '),
    `${formatDuration(Math.max(0, now - Date.parse(worker.heartbeatAt)))} ago`,
    worker.version,
  ]);
  const header = ['WORKER', 'HOST', 'SLOTS', 'RUNNING', 'HEARTBEAT', 'VERSION'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  const total = workers.reduce((sum, worker) => sum + worker.slots, 0);
  return [
    `${workers.length} live worker${workers.length === 1 ? '' : 's'} on ${where}, ${total} slots`,
    chalk.dim(line(header)),
    ...rows.map(line),
  ].join('\n');
}

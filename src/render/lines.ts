import chalk from 'chalk';
import type { StampedEvent } from '../events.js';
import { formatDuration } from '../util/duration.js';
import { describeChange } from '../worktree/refs-guard.js';
import { STATUS_SYMBOL, colorStatus, formatBudget, formatCost, shortSha } from './format.js';
import { shortTime } from './waiting.js';

/** One human line for a state change; undefined for events not worth a line of their own. */
export function describeEvent(event: StampedEvent): string | undefined {
  switch (event.type) {
    case 'run-started':
      return `run ${chalk.bold(event.runId)} ${event.resumed ? 'resumed' : 'started'}: ${event.tasks} tasks from ${event.baseRef} (${shortSha(event.baseSha)}), max parallel ${event.maxParallel}`;
    case 'task-status': {
      const symbol = colorStatus(event.status, STATUS_SYMBOL[event.status]);
      const name = chalk.bold(event.taskId);
      if (event.status === 'running') {
        const kind = event.kind && event.kind !== 'fresh' ? `, ${event.kind}` : '';
        return `${symbol} ${name} running (attempt ${event.attempt}${kind})${event.branch ? ` on ${event.branch}` : ''}`;
      }
      if (event.status === 'pending') {
        const wait = event.retryInMs !== undefined ? ` in ${formatDuration(event.retryInMs)}` : '';
        return `${colorStatus('pending', '↻')} ${name} will run again${wait}: ${event.reason ?? ''}`;
      }
      const commits = event.commits !== undefined ? ` (${event.commits} commit${event.commits === 1 ? '' : 's'})` : '';
      const reason = event.reason ? `: ${event.reason}` : '';
      return `${symbol} ${name} ${colorStatus(event.status)}${event.status === 'succeeded' ? commits : ''}${reason}`;
    }
    case 'limit':
      return chalk.dim(`limit ${event.limit} (${event.reason}), ${event.running} running`);
    case 'api-pressure':
      return chalk.yellow(`API ${event.status}: no new agents for ${formatDuration(event.pausedForMs)} (backoff level ${event.level})`);
    case 'usage-limit': {
      const limit = event.limitType ? ` (${event.limitType})` : '';
      const at = shortTime(event.resetsAt, Date.parse(event.at));
      if (event.action === 'pause') return chalk.yellow(`usage limit reached${limit}: no new agents until it resets at ${at}`);
      if (event.action === 'stop')
        return chalk.yellow(`usage limit reached${limit}: it resets at ${at}, beyond --max-wait; running tasks finish, then the run stops`);
      const agents = event.limit ?? 1;
      return chalk.yellow(`usage limit close${limit}: at most ${agents} agent${agents === 1 ? '' : 's'} until it resets at ${at}`);
    }
    case 'budget':
      return chalk.yellow(
        `budget reached: ${formatCost(event.costUsd)} of ${formatBudget(event.maxCostUsd)}; no new task starts, running ones finish`,
      );
    case 'mode':
      return chalk.yellow(`switching to one task at a time: ${event.reason}`);
    case 'stopping':
      return chalk.yellow(
        event.reason === 'interrupt'
          ? `interrupted: starting nothing more${event.running > 0 ? `, stopping ${event.running} agent${event.running === 1 ? '' : 's'}` : ''}`
          : `stopping: ${event.message ?? 'the run was aborted'}`,
      );
    case 'warning':
      return chalk.yellow(`! ${event.message}`);
    case 'refs-restored': {
      const who = event.agent === 'merge' ? `${event.taskId}'s merge agent` : `${event.taskId}'s agent`;
      const when = event.agent === 'merge' ? '' : ` (attempt ${event.attempt})`;
      return chalk.yellow(
        event.changes.length > 0
          ? `! ${who} changed refs outside its branch${when}: ${event.changes.map(describeChange).join('; ')}`
          : `! refs guard, ${who}${when}: ${event.problems.join('; ')}`,
      );
    }
    case 'run-finished':
      return `run ${colorStatus(event.status)} (exit ${event.exitCode})`;
    case 'merge-started':
      return `merge queue ${event.resumed ? 'continues' : 'starts'} on ${chalk.bold(event.branch)} at ${shortSha(event.head)}`;
    case 'merge-status': {
      const name = chalk.bold(event.taskId);
      switch (event.status) {
        case 'merged':
          return `${chalk.green('⇢')} ${name} ${chalk.green('merged')}${event.commit ? ` (${shortSha(event.commit)})` : ''}`;
        case 'conflict':
          return `${chalk.red('✗')} ${name} ${chalk.red('conflict')} in ${event.conflictFiles?.join(', ') ?? '?'}${event.reason ? `: ${event.reason}` : ''}`;
        case 'check-failed':
          return `${chalk.red('✗')} ${name} ${chalk.red('check failed')}: ${event.reason ?? ''}`;
        case 'held':
          return `${chalk.yellow('↷')} ${name} ${chalk.yellow('held')}: ${event.reason ?? ''}`;
        case 'pending':
          return event.commit ? chalk.dim(`  ${event.taskId} merged at ${shortSha(event.commit)}, waiting for the check`) : undefined;
      }
      return undefined;
    }
    case 'merge-check':
      return event.passed
        ? chalk.dim(`check passed after ${event.taskIds.join(', ')} (${formatDuration(event.durationMs)})`)
        : chalk.yellow(
            `check failed after ${event.taskIds.join(', ')} (${event.timedOut ? 'timed out' : `exit ${event.exitCode ?? '?'}`}, ${formatDuration(event.durationMs)}; ${event.log})`,
          );
    case 'merge-resolve':
      return event.stage === 'started'
        ? chalk.cyan(`an agent resolves the conflict of ${event.taskId}`)
        : event.stage === 'resolved'
          ? chalk.green(`${event.taskId}: conflict resolved`)
          : chalk.red(`${event.taskId}: the conflict was not resolved: ${event.reason ?? ''}`);
    case 'merge-into':
      return chalk.green(`${chalk.bold(event.branch)} fast-forwarded ${shortSha(event.from)} → ${shortSha(event.to)}`);
    case 'merge-finished':
      return `merge queue ${colorStatus(event.status === 'finished' ? (event.exitCode === 0 ? 'succeeded' : 'failed') : event.status, event.status)} (exit ${event.exitCode})`;
    case 'task-activity':
    case 'waiting':
      return undefined;
    case 'ahead-failed':
      return chalk.dim(`${event.taskId}: its worktree was not made ahead of time (${event.message}); its start makes it`);
    case 'task-worker':
      return event.from
        ? chalk.yellow(`${chalk.bold(event.taskId)} moved from ${event.from} (lost) to ${event.worker} on ${event.host}`)
        : chalk.dim(`  ${event.taskId} runs on ${event.worker} (${event.host})`);
  }
}

import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { flagOverrides } from '../run-flags.js';
import { driveRun } from '../drive-run.js';
import { addRunOptions, type RunOptions } from './run.js';
import { EXIT } from '../../domain/exit-codes.js';

export function registerResume(program: Command, context: CommandContext): void {
  addRunOptions(
    program
      .command('resume')
      .description('finish an interrupted run: adopt live agents, re-run interrupted tasks, run pending ones')
      .argument('[run-id]', 'the run to resume (default: the latest)')
      .option('--retry-failed', 'also re-run failed tasks, and the dependents they caused to be skipped'),
  ).action(async (runId: string | undefined, options: RunOptions & { retryFailed?: boolean }) => {
    const request = { cwd: context.cwd, env: context.env, runId, flags: flagOverrides(options), retryFailed: options.retryFailed === true };
    if (options.detach) {
      const { resumeDetached } = await import('../../commands/detach.js');
      const detached = await resumeDetached(request, context.argv);
      context.out(options.json ? JSON.stringify(detached) : detached.runId);
      context.setExitCode(EXIT.ok);
      return;
    }
    const { resumeRun } = await import('../../commands/resume.js');
    await driveRun(context, options.json === true, (sink, onStart) => resumeRun(request, sink, onStart));
  });
}

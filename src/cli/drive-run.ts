import type { EventSink } from '../events.js';
import type { UserError } from '../errors.js';
import type { CommandContext } from './context.js';
import { handleStopSignals, type Interruptible } from './signals.js';
import { EXIT } from '../domain/exit-codes.js';

/** How a driven command ended: its exit code, and why when it was stopped by its environment or a bug. */
export interface DrivenOutcome {
  exitCode: number;
  error?: UserError | undefined;
  internalError?: Error | undefined;
}

/**
 * What `run`, `resume` and `merge` share: a renderer for the events, Ctrl-C/SIGTERM passed on to
 * what is running, and its exit code (with its abort reason, if any, on stderr).
 */
export async function driveRun(
  context: CommandContext,
  json: boolean,
  start: (sink: EventSink, onStart: (target: Interruptible) => void) => Promise<{ outcome: DrivenOutcome }>,
): Promise<void> {
  const { chooseRenderer } = await import('../render/renderer.js');
  const renderer = chooseRenderer(json, context.out);
  // A signal before the run exists: nothing has been started, so just leave.
  const signals = handleStopSignals(() => process.exit(EXIT.interrupted));
  try {
    const { outcome } = await start(
      (event) => renderer.event(event),
      (target) => signals.attach(target),
    );
    renderer.close();
    if (outcome.error) context.err(`orch: ${outcome.error.message}`);
    // A bug in orch: where it happened is worth more than a tidy line.
    if (outcome.internalError?.stack) context.err(outcome.internalError.stack);
    context.setExitCode(outcome.exitCode);
  } finally {
    renderer.close();
    signals.dispose();
  }
}

import type { EventSink } from '../events.js';
import type { Orchestrator, RunOutcome } from '../engine/orchestrator.js';
import type { CommandContext } from './context.js';
import { handleStopSignals } from './signals.js';
import { EXIT } from '../domain/exit-codes.js';

/**
 * What `run` and `resume` share: a renderer for the events, Ctrl-C/SIGTERM passed on to the
 * orchestrator, and the run's exit code (with its abort reason, if any, on stderr).
 */
export async function driveRun(
  context: CommandContext,
  json: boolean,
  start: (sink: EventSink, onStart: (orchestrator: Orchestrator) => void) => Promise<{ outcome: RunOutcome }>,
): Promise<void> {
  const { chooseRenderer } = await import('../render/renderer.js');
  const renderer = chooseRenderer(json, context.out);
  // A signal before the run exists: nothing has been started, so just leave.
  const signals = handleStopSignals(() => process.exit(EXIT.interrupted));
  try {
    const { outcome } = await start(
      (event) => renderer.event(event),
      (orchestrator) => {
        signals.attach(orchestrator);
        renderer.attach?.(() => orchestrator.registry);
      },
    );
    renderer.close();
    if (outcome.error) context.err(`orch: ${outcome.error.message}`);
    for (const warning of outcome.warnings ?? []) context.err(`orch: warning: ${warning}`);
    // A bug in orch: where it happened is worth more than a tidy line.
    if (outcome.internalError?.stack) context.err(outcome.internalError.stack);
    context.setExitCode(outcome.exitCode);
  } finally {
    renderer.close();
    signals.dispose();
  }
}

import type { EventSink } from '../events.js';
import type { Registry } from '../state/registry.js';
import type { UserError } from '../errors.js';
import type { CommandContext } from './context.js';
import { handleStopSignals, type Interruptible } from './signals.js';
import { EXIT } from '../domain/exit-codes.js';

/** How a driven command ended: its exit code, and why when it was stopped by its environment or a bug. */
export interface DrivenOutcome {
  exitCode: number;
  error?: UserError | undefined;
  internalError?: Error | undefined;
  /** Things to say once it has ended (an onRunEnd hook that failed). */
  warnings?: string[] | undefined;
  /** Why it stopped before its end on purpose, and how to continue. */
  paused?: string | undefined;
}

/** What a live view draws from: the run's registry as it is now (read-only). */
export interface Watchable {
  registry?: () => Registry;
}

/**
 * What `run`, `resume` and `merge` share: a renderer for the events, Ctrl-C/SIGTERM passed on to
 * what is running, and its exit code (with its abort reason, if any, on stderr).
 */
export async function driveRun(
  context: CommandContext,
  json: boolean,
  start: (sink: EventSink, onStart: (target: Interruptible & Watchable) => void) => Promise<{ outcome: DrivenOutcome }>,
): Promise<void> {
  const { chooseRenderer } = await import('../render/renderer.js');
  const renderer = await chooseRenderer(json, context.out);
  // A signal before the run exists: nothing has been started, so just leave.
  const signals = handleStopSignals(() => process.exit(EXIT.interrupted));
  try {
    const { outcome } = await start(
      (event) => renderer.event(event),
      (target) => {
        signals.attach(target);
        const { registry } = target;
        if (registry) renderer.attach?.(() => registry.call(target));
      },
    );
    renderer.close();
    if (outcome.error) context.err(`orch: ${outcome.error.message}`);
    if (outcome.paused) context.err(`orch: ${outcome.paused}`);
    for (const warning of outcome.warnings ?? []) context.err(`orch: warning: ${warning}`);
    // A bug in orch: where it happened is worth more than a tidy line.
    if (outcome.internalError?.stack) context.err(outcome.internalError.stack);
    context.setExitCode(outcome.exitCode);
  } finally {
    renderer.close();
    signals.dispose();
  }
}

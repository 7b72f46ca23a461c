import { createLogUpdate } from 'log-update';
import type { StampedEvent } from '../events.js';
import type { Registry } from '../state/registry.js';
import { renderDashboard } from './dashboard.js';
import { clock } from './format.js';
import { describeEvent } from './lines.js';
import { renderMergeSummary } from './merge.js';
import type { Renderer } from './renderer.js';
import { renderSummary } from './summary.js';

/** Events worth a line of their own above the dashboard (besides tasks that end). */
const NOTABLE: ReadonlySet<StampedEvent['type']> = new Set([
  'run-started',
  'api-pressure',
  'usage-limit',
  'budget',
  'mode',
  'stopping',
  'warning',
  'merge-started',
  'merge-status',
  'merge-check',
  'merge-resolve',
  'merge-into',
]);

/**
 * A terminal: one screen redrawn in place (see dashboard.ts) from the run's registry, with the
 * notable events (warnings, pauses, limits, the budget) printed above it, and the summary at the end.
 */
export function ttyRenderer(stream: NodeJS.WriteStream): Renderer {
  const screen = createLogUpdate(stream);
  let source: (() => Registry) | undefined;
  let finished = false;
  let scheduled: NodeJS.Timeout | undefined;
  const draw = (): void => {
    scheduled = undefined;
    if (!source || finished) return;
    screen(renderDashboard(source(), { now: Date.now(), columns: stream.columns ?? 80, rows: stream.rows ?? 24 }));
  };
  // Activity comes in bursts: at most one redraw per 100 ms, and one a second for the clocks.
  const soon = (): void => {
    scheduled ??= setTimeout(draw, 100);
  };
  const timer = setInterval(draw, 1000);
  timer.unref();
  return {
    attach(registry) {
      source = registry;
      draw();
    },
    event(event) {
      // Tasks that end (or will run again) leave a line in the scrollback: the run's history.
      const ended = event.type === 'task-status' && event.status !== 'running';
      if (NOTABLE.has(event.type) || ended) {
        const line = describeEvent(event);
        if (line) screen.persist(`${clock(event.at)} ${line}`);
      }
      if (event.type === 'run-finished' || event.type === 'merge-finished') {
        finished = true;
        screen.clear();
        const summary = event.type === 'run-finished' ? renderSummary(event.summary) : renderMergeSummary(event.summary);
        stream.write(`${describeEvent(event) ?? ''}\n\n${summary}\n`);
        return;
      }
      soon();
    },
    close() {
      clearInterval(timer);
      if (scheduled) clearTimeout(scheduled);
      if (!finished) draw();
      screen.done();
    },
  };
}

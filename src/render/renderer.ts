import type { StampedEvent } from '../events.js';
import type { Registry } from '../state/registry.js';

export interface Renderer {
  event(event: StampedEvent): void;
  /** The run's registry, once the run exists (read-only): what a live view draws from. */
  attach?(registry: () => Registry): void;
  close(): void;
}

type Write = (text: string) => void;

/** `--json`: one JSON object per state change, ending with the summary event. */
export function jsonRenderer(write: Write): Renderer {
  return {
    event(event) {
      if (event.type !== 'task-activity') write(JSON.stringify(event));
    },
    close() {},
  };
}

/**
 * The renderer for this output: `--json` lines, a live view on a terminal, plain lines otherwise.
 * Only the one chosen is loaded: a `--json` run (scripts, the benchmarks) loads neither the live
 * view (log-update, the dashboard and their width and ANSI libraries) nor the plain lines.
 */
export async function chooseRenderer(json: boolean, out: Write): Promise<Renderer> {
  if (json) return jsonRenderer(out);
  // A terminal that reports no width (some pseudo-terminals) cannot host a redrawn live view.
  if (process.stdout.isTTY && (process.stdout.columns ?? 0) > 0) return (await import('./tty-renderer.js')).ttyRenderer(process.stdout);
  return (await import('./plain-renderer.js')).plainRenderer(out);
}

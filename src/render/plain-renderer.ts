import { clock } from './format.js';
import { describeEvent } from './lines.js';
import { renderMergeSummary } from './merge.js';
import type { Renderer } from './renderer.js';
import { renderSummary } from './summary.js';

/** Not a terminal (CI, a log file): plain timestamped lines. */
export function plainRenderer(write: (text: string) => void): Renderer {
  return {
    event(event) {
      const line = describeEvent(event);
      if (line) write(`${clock(event.at)} ${line}`);
      if (event.type === 'run-finished') write(`\n${renderSummary(event.summary)}`);
      if (event.type === 'merge-finished') write(`\n${renderMergeSummary(event.summary)}`);
    },
    close() {},
  };
}

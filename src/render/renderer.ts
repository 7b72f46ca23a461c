import { stripVTControlCharacters } from 'node:util';
import ora, { type Ora } from 'ora';
import chalk from 'chalk';
import type { StampedEvent } from '../events.js';
import { formatDuration } from '../util/duration.js';
import { clock } from './format.js';
import { describeEvent } from './lines.js';
import { renderMergeSummary } from './merge.js';
import { renderSummary } from './summary.js';

export interface Renderer {
  event(event: StampedEvent): void;
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

/** Not a terminal (CI, a log file): plain timestamped lines. */
export function plainRenderer(write: Write): Renderer {
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

/** A terminal: state changes as lines, and a live spinner listing the running tasks. */
export function ttyRenderer(stream: NodeJS.WriteStream): Renderer {
  const running = new Map<string, { since: number; activity: string }>();
  let header = '';
  const spinner: Ora = ora({ stream, discardStdin: false, hideCursor: true });
  const refresh = (): void => {
    if (running.size === 0) {
      if (spinner.isSpinning) spinner.stop();
      return;
    }
    const now = Date.now();
    // Lines longer than the terminal would wrap and throw off the spinner's count of lines to redraw.
    const width = Math.max(20, (stream.columns ?? 80) - 4);
    const fit = (line: string): string =>
      stripVTControlCharacters(line).length > width ? `${stripVTControlCharacters(line).slice(0, width - 1)}…` : line;
    const lines = [...running].map(([id, state]) =>
      fit(`  ${chalk.bold(id)} ${chalk.dim(formatDuration(now - state.since))} ${state.activity}`),
    );
    spinner.text = [fit(`${running.size} running${header ? ` · ${header}` : ''}`), ...lines].join('\n');
    if (!spinner.isSpinning) spinner.start();
  };
  const timer = setInterval(refresh, 1000);
  timer.unref();
  const print = (text: string): void => {
    const spinning = spinner.isSpinning;
    if (spinning) spinner.stop();
    stream.write(`${text}\n`);
    if (spinning) refresh();
  };
  return {
    event(event) {
      if (event.type === 'task-status') {
        if (event.status === 'running') running.set(event.taskId, { since: Date.parse(event.at), activity: chalk.dim('starting') });
        else running.delete(event.taskId);
      }
      if (event.type === 'task-activity') {
        const state = running.get(event.taskId);
        if (state) state.activity = event.activity;
      }
      if (event.type === 'limit') header = `limit ${event.limit} (${event.reason})`;
      const line = describeEvent(event);
      if (line) print(line);
      if (event.type === 'run-finished') print(`\n${renderSummary(event.summary)}`);
      if (event.type === 'merge-finished') print(`\n${renderMergeSummary(event.summary)}`);
      refresh();
    },
    close() {
      clearInterval(timer);
      if (spinner.isSpinning) spinner.stop();
    },
  };
}

export function chooseRenderer(json: boolean, out: Write): Renderer {
  if (json) return jsonRenderer(out);
  // A terminal that reports no width (some pseudo-terminals) cannot host a redrawn live view.
  if (process.stdout.isTTY && (process.stdout.columns ?? 0) > 0) return ttyRenderer(process.stdout);
  return plainRenderer(out);
}

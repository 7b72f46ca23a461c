import chalk from 'chalk';
import type { StreamEvent } from '../agent/stream.js';
import type { LogEntry } from '../commands/logs.js';
import { formatDuration } from '../util/duration.js';
import { formatCost } from './format.js';

function indent(text: string, prefix: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((line) => `${prefix}${line}`)
    .join('\n');
}

function firstLines(text: string, count: number): string {
  const lines = text.trimEnd().split('\n');
  return lines.length > count ? `${lines.slice(0, count).join('\n')}\n… (${lines.length - count} more lines)` : lines.join('\n');
}

/** An agent's stream event as people read it: its words, its tool calls, their results, the end. */
export function renderTranscriptEvent(event: StreamEvent): string | undefined {
  switch (event.kind) {
    case 'init':
      return chalk.dim(`── session ${event.sessionId ?? '?'}${event.model ? ` · ${event.model}` : ''}`);
    case 'assistant':
      if (event.toolUse) return chalk.cyan(`→ ${event.toolUse.summary}`);
      if (event.text) return indent(event.text, '  ');
      return undefined;
    case 'tool-result': {
      const text = event.text.trim();
      if (!text) return chalk.dim(event.isError ? '  ← error' : '  ← ok');
      return event.isError ? chalk.red(indent(firstLines(text, 8), '  ← ')) : chalk.dim(indent(firstLines(text, 8), '  ← '));
    }
    case 'api-retry':
      return chalk.yellow(
        `! API ${event.status ?? 'error'}: retry ${event.attempt ?? '?'}/${event.maxRetries ?? '?'}${event.delayMs !== undefined ? ` in ${formatDuration(event.delayMs)}` : ''}`,
      );
    case 'rate-limit': {
      const { info } = event;
      if (info.status === 'allowed') return undefined;
      const reset = info.resetsAt !== undefined ? `, resets ${new Date(info.resetsAt).toLocaleString()}` : '';
      return chalk.yellow(`! usage limit ${info.status}${info.limitType ? ` (${info.limitType})` : ''}${reset}`);
    }
    case 'result': {
      const { result } = event;
      const facts = [
        result.numTurns !== undefined ? `${result.numTurns} turns` : undefined,
        result.costUsd !== undefined ? formatCost(result.costUsd) : undefined,
        result.durationMs !== undefined ? formatDuration(result.durationMs) : undefined,
      ].filter(Boolean);
      const head = result.isError
        ? chalk.red(`══ ended with an error${result.subtype && result.subtype !== 'success' ? ` (${result.subtype})` : ''}`)
        : chalk.green('══ finished');
      const denials =
        result.permissionDenials.length > 0
          ? chalk.yellow(`\n   permission denied: ${[...new Set(result.permissionDenials)].join(', ')}`)
          : '';
      const text = result.text ?? result.errors.join('\n');
      return `${head} · ${facts.join(' · ')}${denials}${text ? `\n${indent(text, '   ')}` : ''}`;
    }
    case 'other':
      return undefined;
  }
}

/** One entry of `orch logs`: a heading, a raw line, or a stream event as people read it (undefined: nothing to show). */
export function renderLogEntry(entry: LogEntry): string | undefined {
  switch (entry.kind) {
    case 'heading':
      return chalk.bold(`── ${entry.text}`);
    case 'raw':
      return entry.text;
    case 'event':
      return renderTranscriptEvent(entry.event);
  }
}

import type { AgentResult, RateLimitInfo, StreamEvent } from './stream.js';

/** What orch knows of a running agent from its stream so far. */
export class AgentProgress {
  sessionId: string | undefined;
  result: AgentResult | undefined;
  /** The latest `rejected` usage-limit report in the stream (its reset time explains an error result). */
  rejected: RateLimitInfo | undefined;
  private readonly messageIds = new Set<string>();
  private anonymousTurns = 0;

  /** Assistant messages so far (the final result's `num_turns` replaces this once known). */
  get turns(): number {
    return this.result?.numTurns ?? this.messageIds.size + this.anonymousTurns;
  }

  /** Applies one event; returns a new activity line when the event is worth showing. */
  apply(event: StreamEvent): string | undefined {
    switch (event.kind) {
      case 'init':
        if (event.sessionId) this.sessionId = event.sessionId;
        return `started${event.model ? ` (${event.model})` : ''}`;
      case 'assistant': {
        if (event.messageId) this.messageIds.add(event.messageId);
        else this.anonymousTurns += 1;
        if (event.toolUse) return event.toolUse.summary;
        if (event.text) return firstLine(event.text);
        return undefined;
      }
      case 'api-retry':
        return `API ${event.status ?? 'error'}: retry ${event.attempt ?? '?'}/${event.maxRetries ?? '?'}`;
      case 'rate-limit':
        if (event.info.status === 'rejected' && !event.info.usingOverage) {
          this.rejected = event.info;
          return `usage limit reached${event.info.limitType ? ` (${event.info.limitType})` : ''}`;
        }
        return undefined;
      case 'result':
        this.result = event.result;
        if (event.result.sessionId) this.sessionId = event.result.sessionId;
        return event.result.isError ? `ended with an error: ${firstLine(event.result.text ?? event.result.subtype ?? '')}` : 'finished';
      case 'tool-result':
      case 'other':
        return undefined;
    }
  }
}

function firstLine(text: string): string {
  const line = text.trim().split('\n')[0] ?? '';
  return line.length > 100 ? `${line.slice(0, 97)}…` : line;
}

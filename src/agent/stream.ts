/** The final `result` line of a Claude Code stream, reduced to what orch decides and reports on. */
export interface AgentResult {
  isError: boolean;
  subtype?: string;
  text?: string;
  numTurns?: number;
  durationMs?: number;
  costUsd?: number;
  sessionId?: string;
  apiErrorStatus?: number;
  /** The CLI's name for the API error, e.g. `usage_limit_reached` (a plan's usage limit). */
  apiError?: string;
  terminalReason?: string;
  errors: string[];
  /** Names of tools the permission mode refused. */
  permissionDenials: string[];
}

/**
 * A plan's usage limit as the CLI reports it (`rate_limit_event`, seen with a subscription login):
 * `allowed`, `allowed_warning` (close to the limit) or `rejected` (used up), and when it resets.
 */
export interface RateLimitInfo {
  status: string;
  /** When the limit resets, ms since epoch (the CLI gives epoch seconds). */
  resetsAt?: number;
  /** `five_hour`, `seven_day`, `seven_day_opus`… */
  limitType?: string;
  /** Paid extra usage covers requests past the limit: nothing is refused. */
  usingOverage: boolean;
}

/** One line of `claude -p --output-format stream-json --verbose`, as orch uses it. */
export type StreamEvent =
  | { kind: 'init'; sessionId?: string; model?: string }
  | { kind: 'assistant'; messageId?: string; text?: string; toolUse?: { name: string; summary: string } }
  | { kind: 'tool-result'; isError: boolean; text: string }
  | { kind: 'api-retry'; status?: number; attempt?: number; maxRetries?: number; delayMs?: number }
  | { kind: 'rate-limit'; info: RateLimitInfo }
  | { kind: 'result'; result: AgentResult }
  | { kind: 'other'; type: string };

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const num = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);

/** The text of a tool result's content (a string, or a list of text blocks). */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((block) => (isObject(block) && typeof block.text === 'string' ? block.text : '')).join('\n');
}

/** A short description of a tool call for progress lines: "Bash: npm test", "Edit: src/a.js". */
function summarizeToolInput(name: string, input: unknown): string {
  if (!isObject(input)) return name;
  const detail =
    str(input.command) ?? str(input.file_path) ?? str(input.path) ?? str(input.pattern) ?? str(input.description) ?? str(input.url);
  if (!detail) return name;
  const oneLine = detail.replace(/\s+/g, ' ').trim();
  return `${name}: ${oneLine.length > 80 ? `${oneLine.slice(0, 77)}…` : oneLine}`;
}

function parseResult(line: Json): AgentResult {
  const denials = Array.isArray(line.permission_denials) ? line.permission_denials : [];
  const errors = Array.isArray(line.errors) ? line.errors.map((error) => (typeof error === 'string' ? error : JSON.stringify(error))) : [];
  const result: AgentResult = {
    isError: line.is_error === true,
    errors,
    permissionDenials: denials.map((denial) => (isObject(denial) ? (str(denial.tool_name) ?? 'unknown') : String(denial))),
  };
  const assign = <K extends keyof AgentResult>(key: K, value: AgentResult[K] | undefined): void => {
    if (value !== undefined) result[key] = value;
  };
  assign('subtype', str(line.subtype));
  assign('text', str(line.result));
  assign('numTurns', num(line.num_turns));
  assign('durationMs', num(line.duration_ms));
  assign('costUsd', num(line.total_cost_usd));
  assign('sessionId', str(line.session_id));
  assign('apiErrorStatus', num(line.api_error_status));
  assign('apiError', str(line.api_error));
  assign('terminalReason', str(line.terminal_reason));
  return result;
}

function parseRateLimit(info: Json): RateLimitInfo {
  const parsed: RateLimitInfo = { status: str(info.status) ?? 'unknown', usingOverage: info.isUsingOverage === true };
  const resetsAt = num(info.resetsAt);
  if (resetsAt !== undefined) parsed.resetsAt = resetsAt * 1000;
  const limitType = str(info.rateLimitType);
  if (limitType) parsed.limitType = limitType;
  return parsed;
}

/** Parses one line; undefined for blank or non-JSON lines (the stream may hold stray output). */
export function parseStreamLine(raw: string): StreamEvent | undefined {
  const text = raw.trim();
  if (!text.startsWith('{')) return undefined;
  let line: unknown;
  try {
    line = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(line)) return undefined;
  const type = str(line.type) ?? 'unknown';
  if (type === 'result') return { kind: 'result', result: parseResult(line) };
  if (type === 'rate_limit_event' && isObject(line.rate_limit_info))
    return { kind: 'rate-limit', info: parseRateLimit(line.rate_limit_info) };
  if (type === 'system') {
    if (line.subtype === 'init') {
      const event: StreamEvent = { kind: 'init' };
      const sessionId = str(line.session_id);
      const model = str(line.model);
      if (sessionId) event.sessionId = sessionId;
      if (model) event.model = model;
      return event;
    }
    if (line.subtype === 'api_retry') {
      const event: StreamEvent = { kind: 'api-retry' };
      const status = num(line.error_status);
      const attempt = num(line.attempt);
      const maxRetries = num(line.max_retries);
      const delayMs = num(line.retry_delay_ms);
      if (status !== undefined) event.status = status;
      if (attempt !== undefined) event.attempt = attempt;
      if (maxRetries !== undefined) event.maxRetries = maxRetries;
      if (delayMs !== undefined) event.delayMs = delayMs;
      return event;
    }
    return { kind: 'other', type: `system:${str(line.subtype) ?? ''}` };
  }
  if (type === 'assistant' && isObject(line.message)) {
    const message = line.message;
    const event: StreamEvent & { kind: 'assistant' } = { kind: 'assistant' };
    const messageId = str(message.id);
    if (messageId) event.messageId = messageId;
    for (const block of Array.isArray(message.content) ? message.content : []) {
      if (!isObject(block)) continue;
      if (block.type === 'text' && str(block.text)) event.text = str(block.text)!;
      if (block.type === 'tool_use') {
        const name = str(block.name) ?? 'tool';
        event.toolUse = { name, summary: summarizeToolInput(name, block.input) };
      }
    }
    return event;
  }
  if (type === 'user' && isObject(line.message) && Array.isArray(line.message.content)) {
    const toolResult: unknown = line.message.content.find((block) => isObject(block) && block.type === 'tool_result');
    if (isObject(toolResult)) return { kind: 'tool-result', isError: toolResult.is_error === true, text: contentText(toolResult.content) };
  }
  return { kind: 'other', type };
}

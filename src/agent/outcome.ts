import { PRESSURE_STATUSES, type FailureKind } from '../domain/vocabulary.js';
import type { StopReason } from '../executor/types.js';
import { isUsageLimitText, parseResetTime } from './reset-time.js';
import type { AgentResult, RateLimitInfo } from './stream.js';

export type Outcome =
  | { status: 'succeeded'; reason?: string }
  /** `resetsAt` (ms since epoch): when a plan's usage limit that refused the agent resets. */
  | { status: 'failed'; failure: FailureKind; reason: string; apiStatus?: number; resetsAt?: number }
  | { status: 'interrupted'; reason: string };

export interface OutcomeInput {
  /** null when the exit code is unknown (an adopted agent that orch did not start). */
  exitCode: number | null;
  signal: string | null;
  result: AgentResult | undefined;
  stderrTail: string;
  /** Why orch stopped the agent itself, if it did. */
  stoppedBy?: StopReason | undefined;
  /** "text" agents (not Claude Code) have no result line: exit 0 is success. */
  output: 'stream-json' | 'text';
  /** The latest `rejected` usage-limit report in the agent's stream, if any. */
  rejected?: RateLimitInfo | undefined;
  /** Now, to read a reset time written as a time of day ("resets 4pm"). */
  now?: number;
}

function lastLine(text: string): string {
  const lines = text
    .trim()
    .split('\n')
    .filter((line) => line.trim());
  const line = lines[lines.length - 1] ?? '';
  return line.length > 200 ? `${line.slice(0, 197)}…` : line;
}

function exitText(input: OutcomeInput): string {
  if (input.signal) return `killed by ${input.signal}`;
  return `exited ${input.exitCode ?? '?'}`;
}

/**
 * A plan's usage limit refused the agent: the result says `api_error: "usage_limit_reached"` or
 * "You've hit your … limit · resets …" (seen with the real CLI and a subscription login), and the
 * reset comes from the stream's `rate_limit_event` or, failing that, from the text.
 */
function usageLimitFailure(result: AgentResult, text: string, input: OutcomeInput): Outcome | undefined {
  if (result.apiError !== 'usage_limit_reached' && !isUsageLimitText(text)) return undefined;
  const resetsAt = input.rejected?.resetsAt ?? parseResetTime(text, input.now ?? Date.now());
  if (resetsAt === undefined) return undefined;
  return {
    status: 'failed',
    failure: 'usage-limit',
    reason: `usage limit: ${lastLine(text) || 'the plan’s usage limit is reached'}`,
    apiStatus: result.apiErrorStatus ?? 429,
    resetsAt,
  };
}

function resultFailure(result: AgentResult, input: OutcomeInput): Outcome {
  const text = result.text ?? result.errors.join('; ');
  if (/not logged in/i.test(text)) {
    return { status: 'failed', failure: 'not-logged-in', reason: `claude is not logged in (${lastLine(text)})` };
  }
  const usage = usageLimitFailure(result, text, input);
  if (usage) return usage;
  if (result.subtype === 'error_max_budget_usd') {
    return {
      status: 'failed',
      failure: 'budget',
      reason: `error_max_budget_usd: ${lastLine(text) || 'the agent reached --max-budget-usd'}`,
    };
  }
  const status = result.apiErrorStatus;
  if (status !== undefined && PRESSURE_STATUSES.has(status)) {
    return { status: 'failed', failure: 'rate-limited', reason: `API ${status}: ${lastLine(text) || 'rate limited'}`, apiStatus: status };
  }
  if (status !== undefined || result.terminalReason === 'api_error') {
    const outcome: Outcome = {
      status: 'failed',
      failure: 'api-error',
      reason: `API ${status ?? 'error'}: ${lastLine(text) || 'request failed'}`,
    };
    if (status !== undefined) outcome.apiStatus = status;
    return outcome;
  }
  const subtype = result.subtype && result.subtype !== 'success' ? result.subtype : undefined;
  return {
    status: 'failed',
    failure: 'agent-error',
    reason: [subtype, lastLine(text)].filter(Boolean).join(': ') || 'the agent reported an error',
  };
}

/**
 * Decides what an agent's run amounted to. Success needs both a clean exit and a result that
 * says `is_error: false`; an agent orch stopped is never a success, whatever it exited with
 * (the real CLI exits 0 on SIGINT).
 */
export function classifyOutcome(input: OutcomeInput): Outcome {
  if (input.stoppedBy === 'user') return { status: 'interrupted', reason: 'stopped by orch (interrupt)' };
  if (input.stoppedBy === 'abort') return { status: 'interrupted', reason: 'stopped by orch (the run was aborted)' };
  if (input.stoppedBy === 'timeout') return { status: 'failed', failure: 'timeout', reason: 'timeout: the task ran past its time limit' };
  if (input.stoppedBy === 'inactivity')
    return { status: 'failed', failure: 'timeout', reason: 'timeout: no output from the agent for too long (a hung stream)' };

  if (input.output === 'text') {
    if (input.exitCode === 0) return { status: 'succeeded' };
    return {
      status: 'failed',
      failure: 'exit-code',
      reason: `${exitText(input)}${input.stderrTail ? `: ${lastLine(input.stderrTail)}` : ''}`,
    };
  }

  const { result } = input;
  if (!result) {
    if (input.exitCode === null && input.signal === null) {
      return {
        status: 'failed',
        failure: 'no-result',
        reason: 'the agent ended without a result (orch did not start it, so its exit status is unknown)',
      };
    }
    if (input.exitCode === 0) return { status: 'failed', failure: 'no-result', reason: 'exited 0 without a result event' };
    const detail = lastLine(input.stderrTail);
    return { status: 'failed', failure: 'exit-code', reason: `${exitText(input)} without a result${detail ? `: ${detail}` : ''}` };
  }
  if (result.isError) return resultFailure(result, input);
  if (input.exitCode !== 0 && input.exitCode !== null) {
    return { status: 'failed', failure: 'exit-code', reason: `${exitText(input)} after a successful result` };
  }
  if (input.signal) return { status: 'failed', failure: 'exit-code', reason: `${exitText(input)} after a successful result` };
  return result.permissionDenials.length > 0
    ? { status: 'succeeded', reason: `permission denied for: ${[...new Set(result.permissionDenials)].join(', ')}` }
    : { status: 'succeeded' };
}

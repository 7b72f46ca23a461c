import { describe, expect, it } from 'vitest';
import { classifyOutcome, type OutcomeInput } from '../../src/agent/outcome.js';
import type { AgentResult } from '../../src/agent/stream.js';

const ok: AgentResult = { isError: false, errors: [], permissionDenials: [] };
const input = (overrides: Partial<OutcomeInput>): OutcomeInput => ({
  exitCode: 0,
  signal: null,
  result: ok,
  stderrTail: '',
  output: 'stream-json',
  ...overrides,
});

describe('classifyOutcome', () => {
  it('succeeds only on exit 0 with a result that is not an error', () => {
    expect(classifyOutcome(input({}))).toEqual({ status: 'succeeded' });
  });

  it('fails an exit 0 without a result', () => {
    expect(classifyOutcome(input({ result: undefined }))).toEqual({
      status: 'failed',
      failure: 'no-result',
      reason: 'exited 0 without a result event',
    });
  });

  it('fails a non-zero exit without a result, with the stderr tail', () => {
    expect(classifyOutcome(input({ exitCode: 1, result: undefined, stderrTail: "noise\nerror: unknown option '--x'\n" }))).toEqual({
      status: 'failed',
      failure: 'exit-code',
      reason: "exited 1 without a result: error: unknown option '--x'",
    });
  });

  it('takes the reason of an error result from its subtype and text', () => {
    const result: AgentResult = { ...ok, isError: true, subtype: 'error_max_turns', text: 'Reached max turns' };
    expect(classifyOutcome(input({ exitCode: 1, result }))).toEqual({
      status: 'failed',
      failure: 'agent-error',
      reason: 'error_max_turns: Reached max turns',
    });
  });

  it('decides by is_error, not by subtype: API failures arrive as subtype "success"', () => {
    const result: AgentResult = {
      ...ok,
      isError: true,
      subtype: 'success',
      apiErrorStatus: 500,
      terminalReason: 'api_error',
      text: 'API Error: 500',
    };
    expect(classifyOutcome(input({ exitCode: 1, result }))).toMatchObject({ status: 'failed', failure: 'api-error', apiStatus: 500 });
  });

  it.each([429, 529])('marks API %d as rate limiting', (status) => {
    const result: AgentResult = { ...ok, isError: true, subtype: 'success', apiErrorStatus: status, text: 'API Error: Request rejected' };
    expect(classifyOutcome(input({ exitCode: 1, result }))).toMatchObject({ status: 'failed', failure: 'rate-limited', apiStatus: status });
  });

  it('recognizes "Not logged in"', () => {
    const result: AgentResult = { ...ok, isError: true, text: 'Not logged in · Please run /login', terminalReason: 'api_error' };
    expect(classifyOutcome(input({ exitCode: 1, result }))).toMatchObject({ status: 'failed', failure: 'not-logged-in' });
  });

  it('never calls an agent orch stopped a success, even after exit 0', () => {
    expect(classifyOutcome(input({ stoppedBy: 'user' }))).toMatchObject({ status: 'interrupted' });
    expect(classifyOutcome(input({ stoppedBy: 'timeout', exitCode: null, signal: 'SIGTERM', result: undefined }))).toMatchObject({
      status: 'failed',
      failure: 'timeout',
    });
    expect(classifyOutcome(input({ stoppedBy: 'inactivity' }))).toMatchObject({ status: 'failed', failure: 'timeout' });
  });

  it('fails a clean result followed by a non-zero exit or a signal', () => {
    expect(classifyOutcome(input({ exitCode: 2 }))).toMatchObject({ status: 'failed', failure: 'exit-code' });
    expect(classifyOutcome(input({ exitCode: null, signal: 'SIGKILL' }))).toMatchObject({
      status: 'failed',
      failure: 'exit-code',
      reason: 'killed by SIGKILL after a successful result',
    });
  });

  it('accepts an adopted agent (exit unknown) on its result alone', () => {
    expect(classifyOutcome(input({ exitCode: null }))).toEqual({ status: 'succeeded' });
  });

  it('records permission denials on a success', () => {
    expect(classifyOutcome(input({ result: { ...ok, permissionDenials: ['Bash', 'Bash', 'Write'] } }))).toEqual({
      status: 'succeeded',
      reason: 'permission denied for: Bash, Write',
    });
  });

  it('judges text agents by their exit code', () => {
    expect(classifyOutcome(input({ output: 'text', result: undefined }))).toEqual({ status: 'succeeded' });
    expect(classifyOutcome(input({ output: 'text', exitCode: 4, result: undefined, stderrTail: 'bad\n' }))).toEqual({
      status: 'failed',
      failure: 'exit-code',
      reason: 'exited 4: bad',
    });
  });
});

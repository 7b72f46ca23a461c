import { describe, expect, it } from 'vitest';
import { AgentProgress } from '../../src/agent/progress.js';
import { parseStreamLine } from '../../src/agent/stream.js';

// Lines as the real CLI (2.1.330) printed them, trimmed of fields orch ignores.
const INIT =
  '{"type":"system","subtype":"init","cwd":"/tmp/w","session_id":"b745f7ea-5edf-4552-84aa-3b63998a4a50","tools":["Bash"],"model":"claude-opus-5-5","permissionMode":"acceptEdits"}';
const TOOL_USE =
  '{"type":"assistant","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-opus-5-5","content":[{"type":"tool_use","id":"toolu_1","name":"Bash","input":{"command":"npm test","description":"run tests"}}]},"session_id":"b745f7ea"}';
const TOOL_RESULT =
  '{"type":"user","message":{"role":"user","content":[{"type":"tool_result","content":"Exit code 1","is_error":true,"tool_use_id":"toolu_1"}]}}';
const RETRY =
  '{"type":"system","subtype":"api_retry","attempt":1,"max_retries":2,"retry_delay_ms":1179,"error_status":429,"error":"rate_limit","session_id":"fe7c"}';
const RESULT_429 =
  '{"duration_api_ms":0,"session_id":"fe7c","total_cost_usd":0,"permission_denials":[],"terminal_reason":"api_error","is_error":true,"num_turns":1,"subtype":"success","api_error_status":429,"result":"API Error: Request rejected (429) · Rate limited","type":"result","duration_ms":2100}';
const RESULT_OK =
  '{"type":"result","subtype":"success","is_error":false,"num_turns":3,"duration_ms":695,"total_cost_usd":0.00042,"session_id":"b745","result":"All done.","permission_denials":[{"tool_name":"Write","tool_use_id":"t","tool_input":{}}],"terminal_reason":"completed"}';

describe('parseStreamLine', () => {
  it('reads init, tool use, tool result and API retries', () => {
    expect(parseStreamLine(INIT)).toEqual({ kind: 'init', sessionId: 'b745f7ea-5edf-4552-84aa-3b63998a4a50', model: 'claude-opus-5-5' });
    expect(parseStreamLine(TOOL_USE)).toEqual({
      kind: 'assistant',
      messageId: 'msg_1',
      toolUse: { name: 'Bash', summary: 'Bash: npm test' },
    });
    expect(parseStreamLine(TOOL_RESULT)).toEqual({ kind: 'tool-result', isError: true, text: 'Exit code 1' });
    expect(parseStreamLine(RETRY)).toEqual({ kind: 'api-retry', status: 429, attempt: 1, maxRetries: 2, delayMs: 1179 });
  });

  it('reads result lines whatever the order of their keys', () => {
    expect(parseStreamLine(RESULT_429)).toEqual({
      kind: 'result',
      result: {
        isError: true,
        subtype: 'success',
        text: 'API Error: Request rejected (429) · Rate limited',
        numTurns: 1,
        durationMs: 2100,
        costUsd: 0,
        sessionId: 'fe7c',
        apiErrorStatus: 429,
        terminalReason: 'api_error',
        errors: [],
        permissionDenials: [],
      },
    });
    expect(parseStreamLine(RESULT_OK)).toMatchObject({
      kind: 'result',
      result: { isError: false, numTurns: 3, costUsd: 0.00042, permissionDenials: ['Write'] },
    });
  });

  it('ignores blank and non-JSON lines', () => {
    expect(parseStreamLine('')).toBeUndefined();
    expect(parseStreamLine('npm warn something')).toBeUndefined();
    expect(parseStreamLine('{"truncated":')).toBeUndefined();
  });
});

describe('AgentProgress', () => {
  it('tracks session, turns and the activity worth showing', () => {
    const progress = new AgentProgress();
    const activities = [INIT, TOOL_USE, TOOL_RESULT, TOOL_USE.replace('msg_1', 'msg_2')].map((line) =>
      progress.apply(parseStreamLine(line)!),
    );
    expect(activities).toEqual([expect.stringMatching(/^started/), 'Bash: npm test', undefined, 'Bash: npm test']);
    expect(progress.sessionId).toBe('b745f7ea-5edf-4552-84aa-3b63998a4a50');
    expect(progress.turns).toBe(2);
    expect(progress.apply(parseStreamLine(RESULT_OK)!)).toBe('finished');
    expect(progress.turns).toBe(3);
  });
});

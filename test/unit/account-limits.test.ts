import { describe, expect, it } from 'vitest';
import { classifyOutcome, type OutcomeInput } from '../../src/agent/outcome.js';
import { buildInvocation } from '../../src/agent/command.js';
import { parseStreamLine, type AgentResult } from '../../src/agent/stream.js';
import { AgentProgress } from '../../src/agent/progress.js';
import { configSchema } from '../../src/config/schema.js';
import { agentBudget } from '../../src/engine/attempt-record.js';
import { breakerAfterAttempt } from '../../src/engine/breaker.js';
import { decideAfterAttempt, decideAttempt, type RetryPolicy } from '../../src/engine/decide.js';
import { runEnding } from '../../src/engine/summary.js';
import { TASK_STATUSES, type TaskStatus } from '../../src/domain/vocabulary.js';
import { attemptRecord, taskRecord } from '../support/records.js';

// Lines as the real CLI 2.1.330 printed them with a subscription login (CLAUDE_CODE_OAUTH_TOKEN)
// against a scripted API that answered 429 with `anthropic-ratelimit-unified-status: rejected`.
const REJECTED =
  '{"type":"rate_limit_event","rate_limit_info":{"status":"rejected","resetsAt":1795325471,"rateLimitType":"five_hour","isUsingOverage":false,"unifiedWindows":{"five_hour":{"utilization":1,"resetsAt":1795325471,"status":"rejected"}}},"uuid":"50d18be4","session_id":"563a882e"}';
const WARNING =
  '{"type":"rate_limit_event","rate_limit_info":{"status":"allowed_warning","resetsAt":1795325469,"rateLimitType":"five_hour","utilization":0.95,"isUsingOverage":false,"surpassedThreshold":0.9},"uuid":"c81b92ba","session_id":"d562"}';
const RESULT_USAGE =
  '{"type":"result","subtype":"success","is_error":true,"num_turns":1,"duration_ms":142,"total_cost_usd":0,"session_id":"563a882e","api_error_status":429,"api_error_type":"rate_limit_error","api_error":"usage_limit_reached","result":"You\'ve hit your 5-hour limit · resets 5:31am (UTC)","terminal_reason":"api_error","permission_denials":[]}';
const NOW = Date.parse('2026-11-22T02:31:13Z');

const resultOf = (line: string): AgentResult => {
  const event = parseStreamLine(line);
  if (event?.kind !== 'result') throw new Error('not a result');
  return event.result;
};
const input = (result: AgentResult, extra: Partial<OutcomeInput> = {}): OutcomeInput => ({
  exitCode: 1,
  signal: null,
  result,
  stderrTail: '',
  output: 'stream-json',
  now: NOW,
  ...extra,
});

describe('a plan’s usage limit in the stream and the result', () => {
  it('reads rate_limit_event lines and the result’s api_error', () => {
    expect(parseStreamLine(REJECTED)).toEqual({
      kind: 'rate-limit',
      info: { status: 'rejected', resetsAt: 1795325471000, limitType: 'five_hour', usingOverage: false },
    });
    expect(parseStreamLine(WARNING)).toMatchObject({ kind: 'rate-limit', info: { status: 'allowed_warning', resetsAt: 1795325469000 } });
    expect(resultOf(RESULT_USAGE)).toMatchObject({ isError: true, apiErrorStatus: 429, apiError: 'usage_limit_reached' });
  });

  it('remembers the rejection for the result, and shows it as activity', () => {
    const progress = new AgentProgress();
    expect(progress.apply(parseStreamLine(WARNING)!)).toBeUndefined();
    expect(progress.apply(parseStreamLine(REJECTED)!)).toBe('usage limit reached (five_hour)');
    expect(progress.rejected?.resetsAt).toBe(1795325471000);
  });

  it('classifies the refusal as a usage limit with its reset: from the event, else from the text', () => {
    const fromEvent = classifyOutcome(
      input(resultOf(RESULT_USAGE), { rejected: { status: 'rejected', resetsAt: 1795325471000, usingOverage: false } }),
    );
    expect(fromEvent).toEqual({
      status: 'failed',
      failure: 'usage-limit',
      reason: "usage limit: You've hit your 5-hour limit · resets 5:31am (UTC)",
      apiStatus: 429,
      resetsAt: 1795325471000,
    });
    expect(classifyOutcome(input(resultOf(RESULT_USAGE)))).toMatchObject({
      failure: 'usage-limit',
      resetsAt: Date.parse('2026-11-22T05:31:00Z'),
    });
    // With no reset to be found it is plain rate limiting.
    const noReset = { ...resultOf(RESULT_USAGE), text: 'usage limit reached' };
    expect(classifyOutcome(input(noReset))).toMatchObject({ failure: 'rate-limited', apiStatus: 429 });
  });

  it('classifies an agent stopped by --max-budget-usd', () => {
    const result: AgentResult = { isError: true, subtype: 'error_max_budget_usd', errors: [], permissionDenials: [] };
    expect(classifyOutcome(input(result))).toMatchObject({ status: 'failed', failure: 'budget' });
  });
});

describe('usage limits and budgets in the retry policy', () => {
  const policy: RetryPolicy = { retries: 0, backoffMs: 1000, apiRequeues: 0 };
  const usage = {
    status: 'failed' as const,
    failure: 'usage-limit' as const,
    reason: 'usage limit: x',
    apiStatus: 429,
    resetsAt: NOW + 3_600_000,
  };

  it('requeues a usage limit with a reset to come, spending nothing, even with no requeues left', () => {
    expect(decideAfterAttempt(taskRecord(), attemptRecord('fresh'), usage, policy, { budgetReached: false, now: NOW })).toMatchObject({
      status: 'pending',
      spends: 'none',
      delayMs: 0,
      next: { kind: 'requeue' },
    });
    // A reset already past is rate limiting: it spends the API requeues (none left here).
    expect(
      decideAfterAttempt(taskRecord(), attemptRecord('fresh'), usage, policy, { budgetReached: false, now: NOW + 7_200_000 }),
    ).toMatchObject({
      status: 'failed',
      failure: 'usage-limit',
    });
    // Ctrl-C while it happened: the task is interrupted, not failed.
    expect(decideAttempt(taskRecord(), attemptRecord('fresh'), usage, undefined, policy, true)).toMatchObject({ status: 'interrupted' });
  });

  it('an agent stopped by its share of a spent run budget waits for more budget; otherwise it is a failure', () => {
    const budget = { status: 'failed' as const, failure: 'budget' as const, reason: 'error_max_budget_usd: x' };
    expect(decideAfterAttempt(taskRecord(), attemptRecord('fresh'), budget, policy, { budgetReached: true, now: NOW })).toMatchObject({
      status: 'pending',
      reason: 'budget',
      spends: 'none',
    });
    expect(decideAfterAttempt(taskRecord(), attemptRecord('fresh'), budget, policy, { budgetReached: false, now: NOW })).toMatchObject({
      status: 'failed',
      failure: 'budget',
    });
  });

  it('neither counts towards the circuit breaker', () => {
    for (const failure of ['usage-limit', 'budget'] as const) {
      expect(
        breakerAfterAttempt(
          2,
          { outcome: { status: 'failed', failure, reason: 'x' }, parallel: true, stopping: false },
          { enabled: true, threshold: 3 },
        ),
      ).toEqual({ consecutiveFailures: 2, failedInParallel: false });
    }
  });

  it('caps an agent’s --max-budget-usd by what is left of the run’s budget', () => {
    expect(agentBudget(null, undefined)).toBeUndefined();
    expect(agentBudget(2, undefined)).toBe(2);
    expect(agentBudget(null, 1.23456)).toBe(1.2345);
    expect(agentBudget(1, 3)).toBe(1);
    expect(agentBudget(null, -0.5)).toBe(0.0001);
    const agent = configSchema.parse({}).agent;
    const context = { runId: 'r', taskId: 't', worktree: '/w', branch: 'b', promptFile: '/p', maxBudgetUsd: 0.75 };
    expect(buildInvocation(agent, context).args.join(' ')).toContain('--max-budget-usd 0.75');
    const custom = { ...agent, command: ['agent', '--budget={max_budget_usd}'] };
    expect(buildInvocation(custom, context).args).toEqual(['--budget=0.75']);
  });

  it('a run that stopped admitting tasks ends paused (75) while tasks are left; a failure outranks it', () => {
    const counts = (changes: Partial<Record<TaskStatus, number>>): Record<TaskStatus, number> =>
      ({ ...Object.fromEntries(TASK_STATUSES.map((status) => [status, 0])), ...changes }) as Record<TaskStatus, number>;
    expect(runEnding(counts({ succeeded: 2, pending: 1 }), false, undefined, undefined, true)).toEqual({ status: 'paused', exitCode: 75 });
    expect(runEnding(counts({ succeeded: 3 }), false, undefined, undefined, true)).toEqual({ status: 'succeeded', exitCode: 0 });
    expect(runEnding(counts({ failed: 1, pending: 1 }), false, undefined, undefined, true)).toEqual({ status: 'failed', exitCode: 1 });
  });
});

describe('AccountLimits: a resumed run’s usage limit and budget', () => {
  it('applies an inherited pause again (now beyond --max-wait: it stops), and a budget already spent halts at once', async () => {
    const { AccountLimits } = await import('../../src/engine/account-limits.js');
    const { T0, at, ranTask, registryOf } = await import('../support/registry.js');
    const registry = registryOf([ranTask('a', 'succeeded', 0, 10, { costUsd: 0.7 })], {
      usageLimit: { pausedUntil: at(7200), limitType: 'five_hour' },
      halted: { kind: 'budget', message: 'from the last session' },
    });
    const limits = new AccountLimits(registry, configSchema.parse({ api: { maxWait: '1h' }, budget: { maxCostUsd: 0.5 } }));
    const inherited = limits.restore(T0);
    expect(registry.run.halted).toBeUndefined();
    expect(inherited).toEqual({ status: 'rejected', resetsAt: T0 + 7_200_000, limitType: 'five_hour' });
    expect(limits.usageSignal(inherited!, T0, 0)).toMatchObject({
      kind: 'event',
      event: { type: 'usage-limit', action: 'stop', limitType: 'five_hour' },
    });
    expect(registry.run.halted).toMatchObject({ kind: 'usage-limit' });
    // The first halt stands; the budget is reached all the same.
    expect(limits.checkBudget()).toBeUndefined();
    expect(limits.budgetReached()).toBe(true);
    expect(limits.limit({ value: 4, reason: 'cores' }, 0, T0)).toEqual({ value: 1, reason: 'usage-limit' });

    const fresh = registryOf([ranTask('a', 'succeeded', 0, 10, { costUsd: 0.7 })]);
    const budget = new AccountLimits(fresh, configSchema.parse({ budget: { maxCostUsd: 0.5 } }));
    expect(budget.restore(T0)).toBeUndefined();
    expect(budget.checkBudget()).toEqual({ type: 'budget', costUsd: 0.7, maxCostUsd: 0.5 });
    expect(budget.waitingHalt()).toEqual({ kind: 'budget', maxCostUsd: 0.5, costUsd: 0.7 });
    expect(fresh.run.halted?.message).toBe(
      'the budget of $0.50 is reached ($0.7000 recorded): no new task starts; `orch resume 20260101-000000-abcd --max-cost <more>` continues',
    );
  });
});

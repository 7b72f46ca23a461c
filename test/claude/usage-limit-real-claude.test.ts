import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { realClaudeEnv, scriptedApi } from '../support/claude.js';
import { git, tempRepo } from '../support/git.js';
import { runOrch } from '../support/orch.js';
import { readLedger, readRunRegistry } from '../support/run-state.js';
import { writeFiles } from '../support/tmp.js';

/**
 * What the real CLI (2.1.330) does with a plan's usage limit, offline. It reads the API's
 * `anthropic-ratelimit-unified-*` headers only with a subscription login: with
 * CLAUDE_CODE_OAUTH_TOKEN (what `claude setup-token` gives) and no API key it prints
 * `rate_limit_event` lines, and a 429 with `unified-status: rejected` ends the agent at once (no
 * retry) with `api_error: "usage_limit_reached"` and "You've hit your 5-hour limit · resets …".
 */
describe('a plan’s usage limit with the real claude CLI (offline, subscription token, scripted API)', () => {
  it('waits for the reset the CLI reported, requeues the task without a failure, and caps the run after a warning', async () => {
    let resetsAt = 0;
    let refused = 0;
    const api = await scriptedApi((conversation) => {
      // The first request is refused by the five-hour limit, which resets in a few seconds.
      if (refused === 0) {
        refused += 1;
        resetsAt = Math.ceil(Date.now() / 1000) + 4;
        return {
          error: { status: 429, type: 'rate_limit_error', message: 'Usage limit reached' },
          headers: {
            'anthropic-ratelimit-unified-status': 'rejected',
            'anthropic-ratelimit-unified-reset': String(resetsAt),
            'anthropic-ratelimit-unified-representative-claim': 'five_hour',
            'anthropic-ratelimit-unified-5h-status': 'rejected',
            'anthropic-ratelimit-unified-5h-reset': String(resetsAt),
            'anthropic-ratelimit-unified-5h-utilization': '1.0',
          },
        };
      }
      // Afterwards: allowed, but close to the limit (95% of the next window, which resets an hour later).
      const reset = String(resetsAt + 3600);
      const headers = {
        'anthropic-ratelimit-unified-status': 'allowed_warning',
        'anthropic-ratelimit-unified-reset': reset,
        'anthropic-ratelimit-unified-representative-claim': 'five_hour',
        'anthropic-ratelimit-unified-5h-status': 'allowed_warning',
        'anthropic-ratelimit-unified-5h-reset': reset,
        'anthropic-ratelimit-unified-5h-utilization': '0.95',
        'anthropic-ratelimit-unified-5h-surpassed-threshold': '0.9',
      };
      const calls = [
        { name: 'Write', input: { file_path: path.join(conversation.cwd ?? '.', 'window.txt'), content: 'after the reset\n' } },
        { name: 'Bash', input: { command: 'git add window.txt && git commit -q -m "Add window.txt"', description: 'Commit' } },
      ];
      return calls[conversation.step] ? { tool: calls[conversation.step]!, headers } : { text: 'Done.', headers };
    });
    const repo = await tempRepo();
    await writeFiles(repo, { 'prompts/window.md': '# Window\nWrite window.txt.\n' });
    const env = { ...(await realClaudeEnv(api.url)), ANTHROPIC_API_KEY: '', CLAUDE_CODE_OAUTH_TOKEN: 'sk-ant-oat01-scripted' };
    const result = await runOrch(['run', 'prompts/window.md', '--retries', '0'], { cwd: repo, env });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);

    const registry = await readRunRegistry(repo);
    const task = registry.tasks[0]!;
    expect(task).toMatchObject({ status: 'succeeded', attempts: 2, retriesUsed: 0, apiRequeues: 0 });
    expect(task.attemptLog[0]).toMatchObject({
      outcome: 'requeued',
      reason: expect.stringMatching(/^usage limit: You've hit your 5-hour limit · resets /),
    });
    const ledger = await readLedger(repo);
    const usage = ledger.filter((event) => event.type === 'usage-limit');
    expect(usage[0]).toMatchObject({
      status: 'rejected',
      action: 'pause',
      limitType: 'five_hour',
      resetsAt: new Date(resetsAt * 1000).toISOString(),
    });
    expect(usage[1]).toMatchObject({ status: 'allowed_warning', action: 'cap', limit: 1 });
    expect(usage).toHaveLength(2);
    expect(ledger.some((event) => event.type === 'api-pressure')).toBe(false);
    expect(result.stdout).toMatch(
      /usage limit reached \(five_hour\): no new agents until it resets at (?:[A-Z][a-z]{2} \d{1,2} )?\d\d:\d\d/,
    );
    expect(result.stdout).toMatch(
      /usage limit close \(five_hour\): at most 1 agent until it resets at (?:[A-Z][a-z]{2} \d{1,2} )?\d\d:\d\d/,
    );
    // The second attempt started at the reset, not before.
    const second = ledger.find((event) => event.type === 'task-status' && event.status === 'running' && event.attempt === 2)!;
    expect(Date.parse(second.at)).toBeGreaterThanOrEqual(resetsAt * 1000);
    expect(await git(repo, 'show', `${task.branch}:window.txt`)).toBe('after the reset');
  });
});

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { realClaudeEnv, scriptedApi } from '../support/claude.js';
import { git, tempRepo } from '../support/git.js';
import { runOrch } from '../support/orch.js';
import { readLedger, readRunRegistry } from '../support/run-state.js';
import { writeFiles } from '../support/tmp.js';

describe('rate limiting with the real claude CLI (offline, scripted Messages API)', () => {
  it('reads the CLI’s api_retry events and 429 result: the run pauses and the task is requeued, not failed (an API key: no usage-limit event)', async () => {
    let rejected = 0;
    const api = await scriptedApi((conversation) => {
      // The first two requests are rate limited: the CLI retries once (CLAUDE_CODE_MAX_RETRIES=1), then gives up.
      if (rejected < 2) {
        rejected += 1;
        return {
          error: {
            status: 429,
            type: 'rate_limit_error',
            message: 'Number of requests has exceeded your rate limit',
            retryAfterSeconds: 1,
          },
          // With an API key the CLI ignores a plan's usage-limit headers: this stays a plain 429.
          headers: {
            'anthropic-ratelimit-unified-status': 'rejected',
            'anthropic-ratelimit-unified-reset': String(Math.ceil(Date.now() / 1000) + 3600),
          },
        };
      }
      const calls = [
        { name: 'Write', input: { file_path: path.join(conversation.cwd ?? '.', 'limited.txt'), content: 'made it\n' } },
        { name: 'Bash', input: { command: 'git add limited.txt && git commit -q -m "Add limited.txt"', description: 'Commit' } },
      ];
      return calls[conversation.step] ? { tool: calls[conversation.step]! } : { text: 'Done.' };
    });
    const repo = await tempRepo();
    await writeFiles(repo, {
      'prompts/limited.md': '# Limited\nWrite limited.txt.\n',
      '.gadugi/config.json': JSON.stringify({ api: { backoffBase: '1s' } }),
    });
    const result = await runOrch(['run', 'prompts/limited.md'], { cwd: repo, env: await realClaudeEnv(api.url) });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);

    const task = (await readRunRegistry(repo)).tasks[0]!;
    expect(task).toMatchObject({ status: 'succeeded', attempts: 2, apiRequeues: 1, retriesUsed: 0 });
    expect(task.attemptLog[0]).toMatchObject({ outcome: 'requeued', reason: expect.stringContaining('API 429') });
    const ledger = await readLedger(repo);
    expect(ledger.find((event) => event.type === 'api-pressure')).toMatchObject({ status: 429 });
    expect(ledger.some((event) => event.type === 'task-status' && event.status === 'failed')).toBe(false);
    expect(ledger.some((event) => event.type === 'usage-limit')).toBe(false);
    expect(await git(repo, 'show', `${task.branch}:limited.txt`)).toBe('made it');
  });
});

import { describe, expect, it } from 'vitest';
import { slotsFor, type WorkerInfo } from '../../src/workers/directory.js';
import { jobPayloadSchema, jobResultSchema, payloadProblem } from '../../src/workers/job.js';
import { parseRedisUrl, redactUrl, scrubSecret, withoutSecrets } from '../../src/workers/redis-url.js';
import { hadCredentials, queueNameFor, remoteAllowed, shareableRemote } from '../../src/workers/remote.js';
import { UserError } from '../../src/errors.js';

describe('Redis URLs', () => {
  it.each([
    ['redis://127.0.0.1:6379', { redacted: 'redis://127.0.0.1:6379', tls: false, where: '127.0.0.1:6379' }],
    ['redis://:pw@host', { redacted: 'redis://:***@host', tls: false, where: 'host:6379' }],
    [
      'rediss://user:p%40ss@cache.example.com:6380/2',
      { redacted: 'rediss://user:***@cache.example.com:6380/2', tls: true, where: 'cache.example.com:6380/2' },
    ],
  ])('%s', (url, expected) => {
    expect(parseRedisUrl(url, '--workers')).toEqual({ url, ...expected });
  });

  it.each([
    ['http://host:6379', /is not a Redis URL/],
    ['host:6379', /is not a Redis URL/],
    ['nonsense', /is not a URL/],
    ['redis://:secret@host/abc', /the path must be a database number/],
  ])('refuses %s in one line that never shows the password', (url, message) => {
    let error: unknown;
    try {
      parseRedisUrl(url, '--workers');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('secret');
  });

  it('redacts passwords wherever they appear', () => {
    const target = parseRedisUrl('redis://:p%40ss@h:1', 'x');
    expect(scrubSecret('WRONGPASS p@ss and p%40ss', target)).toBe('WRONGPASS *** and ***');
    expect(redactUrl('not a url')).toBe('not a url');
    expect(withoutSecrets({ base: 'main', workers: { url: 'redis://u:pw@h', remote: 'origin' } })).toEqual({
      base: 'main',
      workers: { url: 'redis://u:***@h', remote: 'origin' },
    });
    expect(withoutSecrets({ base: 'main' })).toEqual({ base: 'main' });
  });
});

describe('remotes', () => {
  it.each([
    ['https://user:token@github.com/acme/app.git', 'https://github.com/acme/app.git', true],
    ['ssh://git@github.com/acme/app.git', 'ssh://git@github.com/acme/app.git', false],
    ['git@github.com:acme/app.git', 'git@github.com:acme/app.git', false],
    ['../remote.git', '/repo/remote.git', false],
    ['/srv/git/app.git', '/srv/git/app.git', false],
  ])('%s travels as %s', (remote, shared, credentials) => {
    expect(shareableRemote(remote, '/repo/work')).toBe(shared);
    expect(hadCredentials(remote)).toBe(credentials);
  });

  it.each([
    [['git@github.com:acme/*'], 'git@github.com:acme/app.git', true],
    [['git@github.com:acme/*'], 'git@github.com:other/app.git', false],
    [['https://github.com/acme/**'], 'https://github.com/acme/team/app.git', true],
    [['/srv/git/*.git'], '/srv/git/app.git', true],
    [['/srv/git/*.git'], '/srv/git/nested/app.git', false],
    [['/srv/git/app.git'], '/srv/git/app.git', true],
    [[], '/srv/git/app.git', false],
  ])('--allow-remote %j and %s → %s', (patterns, remote, allowed) => {
    expect(remoteAllowed(patterns, remote)).toBe(allowed);
  });

  it('gives every remote its own queue, the same on every machine', () => {
    expect(queueNameFor('/srv/git/a.git')).toBe(queueNameFor('/srv/git/a.git'));
    expect(queueNameFor('/srv/git/a.git')).not.toBe(queueNameFor('/srv/git/b.git'));
    expect(queueNameFor('/srv/git/a.git')).toMatch(/^attempts-[0-9a-f]{16}$/);
  });
});

describe('jobs', () => {
  const payload = {
    version: 1,
    runId: '20261122-000000-abcd',
    remote: '/srv/git/a.git',
    coordinator: 'laptop',
    task: { id: 'add-login', title: 'Add login', text: 'Do it', files: ['src/a.ts'], timeoutMs: 60_000 },
    attempt: { number: 1, kind: 'fresh' },
    base: { ref: 'main', sha: 'a'.repeat(40) },
    mergeFirst: [{ taskId: 'schema', title: 'Schema', relation: 'dependency', head: 'c'.repeat(40) }],
    settings: {
      permissionMode: 'acceptEdits',
      allowedTools: ['Read'],
      appendSystemPrompt: null,
      maxBudgetUsd: null,
      extraArgs: [],
      inactivityMs: 60_000,
      killGraceMs: 5000,
      setup: [],
      ports: 0,
      include: [],
      sandbox: 'auto' as const,
      sandboxNetwork: [],
      disallowedTools: ['Bash(git push:*)'],
    },
  };

  it('accepts what a coordinator queues', () => {
    expect(jobPayloadSchema.safeParse(payload).success).toBe(true);
  });

  it.each([
    ['a task id that is not sanitized', { task: { ...payload.task, id: '../x' } }, /^task\.id is not a task id orch makes/],
    ['the reserved id', { task: { ...payload.task, id: 'integration' } }, /^task\.id is not a task id orch makes/],
    ['a run id orch would not make', { runId: '../../etc' }, /^runId is not a run id orch makes/],
    ['a base that is not a commit id', { base: { ref: 'main', sha: 'HEAD; rm -rf /' } }, /^base\.sha is not a commit id/],
    ['a key it does not know (a command, say)', { settings: { ...payload.settings, command: ['sh'] } }, /^settings/],
    [
      'a dependency with a bad id',
      { mergeFirst: [{ taskId: 'a/../b', title: 'x', relation: 'dependency', head: 'c'.repeat(40) }] },
      /^mergeFirst\.0\.taskId/,
    ],
  ])('refuses %s', (_what, change, message) => {
    const parsed = jobPayloadSchema.safeParse({ ...payload, ...change });
    expect(parsed.success).toBe(false);
    if (!parsed.success) expect(payloadProblem(parsed.error)).toMatch(message);
  });

  it('reads a worker result, and refuses one of another shape', () => {
    const result = {
      version: 1,
      worker: { id: 'w-1', name: 'w', host: 'h' },
      result: { outcome: { status: 'succeeded' } },
      pushed: 'b'.repeat(40),
    };
    expect(jobResultSchema.safeParse(result).success).toBe(true);
    expect(jobResultSchema.safeParse({ ...result, result: { outcome: { status: 'exploded' } } }).success).toBe(false);
  });
});

describe('slotsFor', () => {
  const worker = (name: string, slots: number, queues: string[]): WorkerInfo => ({
    id: name,
    name,
    host: 'h',
    pid: 1,
    version: '0.1.0',
    slots,
    allow: [],
    queues,
    running: [],
    startedAt: '',
    heartbeatAt: '',
  });
  it('sums the slots of the live workers that take the queue', () => {
    expect(slotsFor([worker('a', 4, ['q']), worker('b', 4, ['q', 'r']), worker('c', 8, ['r'])], 'q')).toBe(8);
    expect(slotsFor([worker('c', 8, ['r'])], 'q')).toBe(0);
    expect(slotsFor([], 'q')).toBe(0);
  });
});

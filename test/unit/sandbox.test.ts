import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildInvocation } from '../../src/agent/command.js';
import {
  SANDBOX_PLACEHOLDERS,
  decideSandbox,
  probeMachine,
  sandboxExcludes,
  sandboxGitEnv,
  sandboxSettings,
  type MachineProbe,
  type MachineSandbox,
} from '../../src/agent/sandbox.js';
import { configSchema } from '../../src/config/schema.js';
import { protectedGitPaths } from '../../src/worktree/protected-paths.js';

const agent = (overrides: Record<string, unknown> = {}) => configSchema.parse({ agent: overrides }).agent;
const here: MachineSandbox = { available: true, mechanism: 'bubblewrap' };
const missing: MachineSandbox = { available: false, why: 'socat is not installed', install: 'apt-get install bubblewrap socat' };

describe('decideSandbox', () => {
  it('"auto" follows the machine, and says why it is off', () => {
    expect(decideSandbox(agent(), here)).toEqual({
      enabled: true,
      summary: 'sandbox: on (bubblewrap): agents write only in their worktrees; network: none',
    });
    expect(decideSandbox(agent({ sandboxNetwork: ['registry.npmjs.org', '*.pypi.org'] }), here).summary).toMatch(
      /network: registry\.npmjs\.org, \*\.pypi\.org$/,
    );
    expect(decideSandbox(agent(), missing)).toEqual({
      enabled: false,
      summary:
        "sandbox: off: socat is not installed, so agents' commands are not confined to their worktrees; to confine them: apt-get install bubblewrap socat",
    });
  });

  it('true requires it: one line naming what to install', () => {
    expect(decideSandbox(agent({ sandbox: true }), here).enabled).toBe(true);
    expect(() => decideSandbox(agent({ sandbox: true }), missing)).toThrow(
      /^agent\.sandbox is true but agents cannot be sandboxed on this machine: socat is not installed; install it \(apt-get install bubblewrap socat\), or set agent\.sandbox to "auto" or false\.$/,
    );
  });

  it('false turns it off; another agent CLI never gets Claude Code’s sandbox', () => {
    expect(decideSandbox(agent({ sandbox: false }), here)).toEqual({ enabled: false, summary: 'sandbox: off (agent.sandbox is false)' });
    expect(decideSandbox(agent({ command: ['my-agent'] }), here)).toMatchObject({
      enabled: false,
      summary: expect.stringMatching(/not Claude Code/),
    });
    expect(() => decideSandbox(agent({ command: ['my-agent'], sandbox: true }), here)).toThrow(/orch can only sandbox claude/);
  });
});

describe('probeMachine', () => {
  const probe = (overrides: Partial<MachineProbe>): MachineProbe => ({
    platform: 'linux',
    find: (name) => Promise.resolve(`/usr/bin/${name}`),
    tryBubblewrap: () => Promise.resolve(undefined),
    exists: () => Promise.resolve(true),
    ...overrides,
  });

  it.each<[string, Partial<MachineProbe>, MachineSandbox]>([
    ['Linux with bubblewrap and socat that work', {}, { available: true, mechanism: 'bubblewrap' }],
    [
      'Linux without either',
      { find: () => Promise.resolve(undefined) },
      {
        available: false,
        why: 'bubblewrap (bwrap) and socat are not installed',
        install: expect.stringContaining('apt-get install bubblewrap socat') as string,
      },
    ],
    [
      'Linux without socat',
      { find: (name) => Promise.resolve(name === 'socat' ? undefined : '/usr/bin/bwrap') },
      { available: false, why: 'socat is not installed', install: expect.any(String) as string },
    ],
    [
      'Linux where bubblewrap cannot make namespaces',
      { tryBubblewrap: () => Promise.resolve('No permissions to creating new namespace') },
      {
        available: false,
        why: 'bubblewrap cannot create a sandbox here (No permissions to creating new namespace)',
        install: expect.stringMatching(/user namespaces/) as string,
      },
    ],
    ['macOS', { platform: 'darwin' }, { available: true, mechanism: 'Seatbelt' }],
    [
      'macOS without sandbox-exec',
      { platform: 'darwin', exists: () => Promise.resolve(false) },
      expect.objectContaining({ available: false }) as MachineSandbox,
    ],
    [
      'elsewhere',
      { platform: 'win32' },
      expect.objectContaining({ available: false, why: 'Claude Code has no command sandbox on win32' }) as MachineSandbox,
    ],
  ])('%s', async (_name, overrides, expected) => {
    expect(await probeMachine(probe(overrides))).toEqual(expected);
  });
});

describe('what a sandboxed claude is given', () => {
  it('settings that keep every command in the sandbox, with the allowed hosts and the protected git paths', () => {
    expect(sandboxSettings({ network: ['registry.npmjs.org'], denyWrite: ['/repo/.git/HEAD'] })).toEqual({
      sandbox: {
        enabled: true,
        failIfUnavailable: true,
        autoAllowBashIfSandboxed: true,
        allowUnsandboxedCommands: false,
        network: { allowedDomains: ['registry.npmjs.org'] },
        filesystem: { denyWrite: ['/repo/.git/HEAD'] },
      },
    });
  });

  it('a command line with --settings and the disallowed tools before the allowed ones', () => {
    const { args } = buildInvocation(agent({ allowedTools: ['Read'], disallowedTools: ['Bash(git push:*)'], extraArgs: ['--verbose'] }), {
      runId: 'r',
      taskId: 't',
      worktree: '/w',
      branch: 'b',
      promptFile: '/p.md',
      settingsFile: '/s.json',
    });
    expect(args.slice(args.indexOf('--settings'))).toEqual([
      '--settings',
      '/s.json',
      '--verbose',
      '--disallowedTools',
      'Bash(git push:*)',
      '--allowedTools',
      'Read',
    ]);
    const custom = buildInvocation(agent({ command: ['x', '--deny={disallowed_tools}'], disallowedTools: ['A', 'B'] }), {
      runId: 'r',
      taskId: 't',
      worktree: '/w',
      branch: 'b',
      promptFile: '/p.md',
    });
    expect(custom.args).toEqual(['--deny=A,B']);
  });

  it('git excludes that keep the user’s own and hide the sandbox’s placeholders', () => {
    const text = sandboxExcludes('*.log');
    expect(text.startsWith('*.log\n# orch:')).toBe(true);
    expect(text).toContain('\n/.bashrc\n');
    expect(text).toContain('\n/.claude/settings.json\n');
    expect(text.trim().split('\n')).toHaveLength(SANDBOX_PLACEHOLDERS.length + 2);
    expect(sandboxExcludes('')).toMatch(/^# orch:/);
  });

  it('git configuration through the environment, after any entries already there', () => {
    expect(sandboxGitEnv({}, '/run/agent.gitignore')).toEqual({
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'core.excludesFile',
      GIT_CONFIG_VALUE_0: '/run/agent.gitignore',
    });
    expect(sandboxGitEnv({ GIT_CONFIG_COUNT: '2' }, '/x')).toEqual({
      GIT_CONFIG_COUNT: '3',
      GIT_CONFIG_KEY_2: 'core.excludesFile',
      GIT_CONFIG_VALUE_2: '/x',
    });
  });
});

describe('protectedGitPaths', () => {
  const tree: Record<string, string[]> = {
    '/g': ['HEAD', 'config', 'hooks', 'index', 'info', 'logs', 'objects', 'packed-refs', 'refs', 'worktrees'],
    '/g/logs': ['HEAD', 'refs'],
    '/g/refs': ['heads', 'notes', 'remotes', 'stash', 'tags'],
    '/g/refs/heads': ['feature', 'keep-me', 'main', 'main.lock', 'orch'],
    '/g/refs/heads/orch': ['20261122-010203-abcd', '20261121-000000-0000'],
    '/g/refs/heads/orch/20261122-010203-abcd': ['mine', 'mine.lock', 'other'],
  };
  const list = (dir: string) => Promise.resolve(tree[dir]);

  it('the main checkout, refs off the path to the agent’s branch, never the branch itself', async () => {
    const paths = await protectedGitPaths('/g', 'orch/20261122-010203-abcd/mine', list);
    expect(paths.map((file) => path.relative('/g', file))).toEqual([
      'HEAD',
      'index',
      'info',
      'packed-refs',
      'logs/HEAD',
      'refs/notes',
      'refs/remotes',
      'refs/stash',
      'refs/tags',
      'refs/heads/feature',
      'refs/heads/keep-me',
      'refs/heads/main',
      'refs/heads/orch/20261121-000000-0000',
      'refs/heads/orch/20261122-010203-abcd/other',
    ]);
  });

  it('names only what exists', async () => {
    expect(await protectedGitPaths('/empty', 'x', () => Promise.resolve(undefined))).toEqual([]);
  });
});

import { execFileSync } from 'node:child_process';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentScript, agentStarts, agentState, fakeAgentEnv } from '../support/agents.js';
import { tempRepo } from '../support/git.js';
import { tinyDisk } from '../support/mounts.js';
import { expectOneLine } from '../support/expect.js';
import { runOrch } from '../support/orch.js';
import { readRunRegistry } from '../support/run-state.js';
import { tempDir, writeFiles } from '../support/tmp.js';
import { pathExists } from '../../src/util/fs.js';

const isRoot = process.getuid?.() === 0;

describe('bad input and a hostile environment: one line, exit 2, nothing half-written', () => {
  it('not a git repository', async () => {
    const dir = await tempDir();
    await writeFiles(dir, { 'a.md': '# A\n' });
    expectOneLine(
      await runOrch(['run', 'a.md'], { cwd: dir, env: fakeAgentEnv(await agentState()) }),
      /^orch: not a git repository .*run orch inside the repository/,
    );
    expect(await readdir(dir)).toEqual(['a.md']);
  });

  it('a base ref that does not exist', async () => {
    const repo = await tempRepo();
    await writeFiles(repo, { 'prompts/a.md': '# A\n' });
    expectOneLine(
      await runOrch(['run', 'prompts/a.md', '--base', 'no-such-branch'], { cwd: repo, env: fakeAgentEnv(await agentState()) }),
      /^orch: base ref "no-such-branch" not found: pass --base/,
    );
    expect(await pathExists(path.join(repo, '.gadugi'))).toBe(false);
  });

  it('claude not found, with how to install it', async () => {
    const repo = await tempRepo();
    await writeFiles(repo, { 'prompts/a.md': '# A\n' });
    // Only the system's own folders: not the project's node_modules/.bin, which holds the real CLI.
    const env = { PATH: [path.dirname(process.execPath), '/usr/bin', '/bin'].join(path.delimiter), ORCH_CLAUDE_BIN: '' };
    expectOneLine(
      await runOrch(['run', 'prompts/a.md'], { cwd: repo, env }),
      /^orch: claude not found: install Claude Code with `npm install -g @anthropic-ai\/claude-code`/,
    );
    expect(await pathExists(path.join(repo, '.gadugi'))).toBe(false);
  });

  it('a bad base found while `claude auth status` is still answering: said at once, and the auth check is stopped', async () => {
    const repo = await tempRepo();
    await writeFiles(repo, { 'prompts/a.md': '# A\n' });
    const state = await agentState();
    // The auth check never answers (its gate stays shut): orch runs it beside the other checks, and
    // must stop it rather than wait for it (its own limit is 20 s) once an earlier check failed;
    // no process of it is left (test/support/setup.ts checks).
    const env = fakeAgentEnv(state, { FAKE_CLAUDE_AUTH_WAIT: path.join(state, 'never') });
    expectOneLine(
      await runOrch(['run', 'prompts/a.md', '--base', 'no-such-branch'], { cwd: repo, env, timeoutMs: 15_000 }),
      /^orch: base ref "no-such-branch" not found: pass --base/,
    );
    expect(await pathExists(path.join(repo, '.gadugi'))).toBe(false);
  });

  it('claude present but not logged in (checked before the run)', async () => {
    const repo = await tempRepo();
    await writeFiles(repo, { 'prompts/a.md': '# A\n' });
    const state = await agentState();
    expectOneLine(
      await runOrch(['run', 'prompts/a.md'], { cwd: repo, env: fakeAgentEnv(state, { FAKE_CLAUDE_LOGGED_OUT: '1' }) }),
      /^orch: claude is not logged in: run `claude` once and log in, or set ANTHROPIC_API_KEY/,
    );
    expect(await pathExists(path.join(repo, '.gadugi'))).toBe(false);
    expect(await agentStarts(state)).toEqual([]);
  });

  it('claude reporting "Not logged in" mid-run stops the run with exit 2', async () => {
    const repo = await tempRepo();
    await writeFiles(repo, {
      'prompts/a.md': `# A\n${agentScript({ steps: [{ exit: 1, result: 'error', message: 'Not logged in · Please run /login' }] })}`,
      'prompts/b.md': '# B\nThis depends on a.\n',
    });
    const state = await agentState();
    const result = await runOrch(['run', 'prompts/*.md'], { cwd: repo, env: fakeAgentEnv(state) });
    expectOneLine(result, /^orch: claude is not logged in \(Not logged in · Please run \/login\): run `claude` once and log in/);
    const registry = await readRunRegistry(repo);
    expect(registry.run).toMatchObject({ status: 'aborted', exitCode: 2 });
    expect(registry.tasks.map((task) => task.status)).toEqual(['failed', 'pending']);
    expect(await agentStarts(state)).toHaveLength(1);
  });

  it('bypassPermissions as root without IS_SANDBOX=1', async () => {
    const repo = await tempRepo();
    await writeFiles(repo, { 'prompts/a.md': '# A\n' });
    const state = await agentState();
    const result = await runOrch(['run', 'prompts/a.md', '--permission-mode', 'bypassPermissions'], {
      cwd: repo,
      env: fakeAgentEnv(state, { IS_SANDBOX: '' }),
    });
    if (isRoot) {
      expectOneLine(
        result,
        /^orch: permission mode bypassPermissions is refused by claude when running as root unless IS_SANDBOX=1 is set/,
      );
      expect(await pathExists(path.join(repo, '.gadugi'))).toBe(false);
      expect(
        (
          await runOrch(['run', 'prompts/a.md', '--permission-mode', 'bypassPermissions'], {
            cwd: repo,
            env: fakeAgentEnv(state, { IS_SANDBOX: '1' }),
          })
        ).exitCode,
      ).toBe(0);
    } else {
      expect(result.exitCode).toBe(0);
    }
    expect((await agentStarts(state)).every((start) => start.args.includes('bypassPermissions'))).toBe(true);
  });

  it('a state directory that cannot be written', async () => {
    const repo = await tempRepo();
    await writeFiles(repo, { 'prompts/a.md': '# A\n' });
    // Root can write through file permissions, so block it for everyone: .gadugi is a file.
    await writeFile(path.join(repo, '.gadugi'), 'not a directory\n');
    expectOneLine(
      await runOrch(['run', 'prompts/a.md'], { cwd: repo, env: fakeAgentEnv(await agentState()) }),
      /^orch: the state directory \S+\.gadugi is not writable \(ENOTDIR\)/,
    );
    expect(await readFile(path.join(repo, '.gadugi'), 'utf8')).toBe('not a directory\n');
  });

  it('a disk already full when the run is created leaves no run folder behind', async (context) => {
    const repo = await tempRepo();
    const runs = await tinyDisk(path.join(repo, '.gadugi', 'runs'), '32k', context);
    // The task's own text (saved in the run folder) does not fit.
    await writeFiles(repo, { 'prompts/big.md': `# Big\n${'A long task description. '.repeat(3000)}\n` });
    const result = await runOrch(['run', 'prompts/big.md'], { cwd: repo, env: fakeAgentEnv(await agentState()) });
    expectOneLine(result, /^orch: cannot create the run folder \S+: the disk is full \(ENOSPC\); free some space/);
    expect(await readdir(runs)).toEqual([]);
  });

  it('an invalid config value, from the file or a flag', async () => {
    const repo = await tempRepo();
    await writeFiles(repo, { 'prompts/a.md': '# A\n', '.gadugi/config.json': '{ "retries": { "count": -1 } }' });
    expectOneLine(
      await runOrch(['run', 'prompts/a.md'], { cwd: repo, env: fakeAgentEnv(await agentState()) }),
      /^orch: invalid config value for "retries\.count" \(from \.gadugi\/config\.json\)/,
    );
    await writeFiles(repo, { '.gadugi/config.json': '{}' });
    expectOneLine(
      await runOrch(['run', 'prompts/a.md', '--max-parallel', 'lots'], { cwd: repo, env: fakeAgentEnv(await agentState()) }),
      /^orch: invalid config value for "maxParallel" \(from --max-parallel\)/,
    );
    expect(await readdir(path.join(repo, '.gadugi'))).toEqual(['config.json']);
  });

  it('status and plan say what is wrong in English: they read the registry and the config with their own copy of zod', async () => {
    // The bundle gives the commands that read orch's own files a copy of zod of their own
    // (scripts/bundle.ts); its messages must be zod's English ones, as with the full API.
    const repo = await tempRepo();
    const registry = path.join(repo, '.gadugi', 'runs', '20260101-000000-abcd', 'registry.json');
    await writeFiles(repo, { 'prompts/a.md': '# A\n', [path.relative(repo, registry)]: '{"run": {"version": 2}, "tasks": []}' });
    expectOneLine(
      await runOrch(['status'], { cwd: repo }),
      /^orch: the registry \S+registry\.json is corrupted \(run\.version: Invalid input: expected 1\); it was left unchanged/,
    );
    await writeFiles(repo, { '.gadugi/config.json': '{ "worktree": { "pool": -1 } }' });
    expectOneLine(
      await runOrch(['plan', 'prompts/a.md'], { cwd: repo }),
      /^orch: invalid config value for "worktree\.pool" \(from \.gadugi\/config\.json\): Too small: expected number to be >=0/,
    );
    expect(await readFile(registry, 'utf8')).toBe('{"run": {"version": 2}, "tasks": []}');
  });

  it('a disk that fills up while the registry is written keeps the last good registry', async (context) => {
    const repo = await tempRepo();
    const runs = await tinyDisk(path.join(repo, '.gadugi', 'runs'), '192k', context);
    await writeFiles(repo, {
      // Its stream fills the small disk that holds the run folder.
      'prompts/a.md': `# A\n${agentScript({ steps: [{ emitBytes: 400_000 }, { write: 'a.txt', content: 'a\n' }, { commit: 'a' }] })}`,
      'prompts/b.md': '# B\nThis depends on a.\n',
    });
    const state = await agentState();
    const result = await runOrch(['run', 'prompts/*.md'], { cwd: repo, env: fakeAgentEnv(state) });
    expectOneLine(
      result,
      /^orch: cannot write the registry \S+registry\.json: the disk is full \(ENOSPC\); the last good registry was kept/,
    );
    expect(await agentStarts(state)).toHaveLength(1);
    const registry = await readRunRegistry(repo);
    expect(registry.run.id).toMatch(/^\d{8}-\d{6}-[0-9a-f]{4}$/);
    expect((await readdir(path.join(runs, registry.run.id))).filter((file) => file.includes('registry.json'))).toEqual(['registry.json']);
  });
});

describe('git itself', () => {
  /** A PATH where `git` is a script reporting `version` and passing everything else to the real git. */
  async function gitReporting(version: string): Promise<string> {
    const bin = await tempDir('orch-git-');
    const real = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
    await writeFile(
      path.join(bin, 'git'),
      `#!/bin/sh\n[ "$1" = "--version" ] && { echo "git version ${version}"; exit 0; }\nexec ${real} "$@"\n`,
      { mode: 0o755 },
    );
    return [bin, path.dirname(process.execPath), '/usr/bin', '/bin'].join(path.delimiter);
  }

  it('a git too old for orch: what is needed, before anything is written', async () => {
    const repo = await tempRepo();
    await writeFiles(repo, { 'prompts/a.md': '# A\n' });
    const PATH = await gitReporting('2.25.1');
    for (const args of [['run', 'prompts/a.md'], ['status'], ['clean']]) {
      expectOneLine(
        await runOrch(args, { cwd: repo, env: fakeAgentEnv(await agentState(), { PATH }) }),
        /^orch: git 2\.25\.1 is too old: orch needs git 2\.31 or newer; install a newer git\.$/,
      );
    }
    expect(await pathExists(path.join(repo, '.gadugi'))).toBe(false);
    expect((await runOrch(['status'], { cwd: repo, env: { PATH: await gitReporting('2.31.0') } })).stderr).toMatch(
      /no orch runs in this repository yet/,
    );
  });

  it("git's version is remembered per git binary (not for a script), and what is remembered is what orch goes by", async () => {
    const repo = await tempRepo();
    const cache = await tempDir('orch-cache-');
    const versions = path.join(cache, 'orch', 'git-versions');
    const real = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
    const version = /git version (\d+(?:\.\d+)+)/.exec(execFileSync('git', ['--version'], { encoding: 'utf8' }))![1]!;
    const status = (env: NodeJS.ProcessEnv) => runOrch(['status'], { cwd: repo, env: { XDG_CACHE_HOME: cache, ...env } });
    // A git that is a script (a wrapper may run another git each time) is asked every time.
    expect((await status({ PATH: await gitReporting('2.25.1') })).stderr).toMatch(/git 2\.25\.1 is too old/);
    expect(await pathExists(versions)).toBe(false);
    // The real git is asked once, then remembered by its path and identity.
    expect((await status({})).stderr).toMatch(/no orch runs in this repository yet/);
    const lines = (await readFile(versions, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]!.startsWith(`${execFileSync('realpath', [real], { encoding: 'utf8' }).trim()}|`)).toBe(true);
    expect(lines[0]!.endsWith(`\t${version}`)).toBe(true);
    // Proof that the remembered version is the one used: made to say 2.25.1, orch believes it.
    await writeFile(versions, lines[0]!.replace(/\t.*$/, '\t2.25.1\n'));
    expectOneLine(await status({}), /^orch: git 2\.25\.1 is too old: orch needs git 2\.31 or newer; install a newer git\.$/);
  });

  it('no git at all is said so, not taken for "not a git repository"', async () => {
    const repo = await tempRepo();
    await writeFiles(repo, { 'prompts/a.md': '# A\n' });
    const empty = await tempDir('orch-nogit-');
    expectOneLine(
      await runOrch(['run', 'prompts/a.md'], { cwd: repo, env: { PATH: empty } }),
      /^orch: git not found on PATH: install git 2\.31 or newer\.$/,
    );
  });

  it.runIf(isRoot)('a repository git refuses to use is reported with git’s reason, not as "not a git repository"', async () => {
    const repo = await tempRepo();
    await writeFiles(repo, { 'prompts/a.md': '# A\n' });
    // Owned by someone else: git refuses it ("dubious ownership") unless it is marked safe.
    execFileSync('chown', ['-R', '12345:12345', repo]);
    const result = await runOrch(['run', 'prompts/a.md'], {
      cwd: repo,
      env: { ...fakeAgentEnv(await agentState()), GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_SYSTEM: '/dev/null' },
    });
    expectOneLine(result, /^orch: git cannot use the repository at \S+: detected dubious ownership in repository/);
    execFileSync('chown', ['-R', '0:0', repo]);
  });
});

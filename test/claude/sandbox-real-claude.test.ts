import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SANDBOX_RACE, perTaskScript, type ToolCall } from '../../demo/scripted-api.js';
import { realClaudeEnv, scriptedApi } from '../support/claude.js';
import { git, tempRepo } from '../support/git.js';
import { runOrch } from '../support/orch.js';
import { pathExists } from '../../src/util/fs.js';
import { readLedger, readRunRegistry, runIds } from '../support/run-state.js';
import { tempDir, writeFiles } from '../support/tmp.js';

const bash = (command: string): ToolCall => ({ name: 'Bash', input: { command, description: command } });

/** Every tool result in an agent's stream, in order, less the commands that met the sandbox race (played again). */
async function toolResults(repo: string, runId: string, log: string): Promise<string[]> {
  const lines = (await readFile(path.join(repo, '.gadugi', 'runs', runId, log), 'utf8')).trim().split('\n');
  return lines
    .map((line) => JSON.parse(line) as { type: string; message?: { content?: Array<{ type: string; content?: unknown }> } })
    .filter((line) => line.type === 'user')
    .flatMap((line) => line.message?.content ?? [])
    .filter((block) => block.type === 'tool_result')
    .map((block) => JSON.stringify(block.content))
    .filter((result) => !SANDBOX_RACE.test(JSON.parse(result) as string));
}

describe('agents boxed in, with the real claude CLI (offline) in its sandbox', () => {
  it('keeps writes in the worktree, refuses pushes, and puts back the refs an agent moved', async () => {
    const repo = await tempRepo({ 'README.md': '# sandboxed\n' });
    const initial = await git(repo, 'rev-parse', 'HEAD');
    const remote = path.join(await tempDir('orch-remote-'), 'remote.git');
    await git(repo, 'init', '-q', '--bare', remote);
    await git(repo, 'remote', 'add', 'origin', remote);
    await git(repo, 'push', '-q', 'origin', 'main');
    await git(repo, 'fetch', '-q', 'origin');
    await git(repo, 'branch', 'keep-me');
    // Packed, as in a fresh clone: the sandbox cannot make a ref read-only that has no file of its
    // own, so moving it is left to the refs guard to undo.
    await git(repo, 'pack-refs', '--all');
    const leak = path.join(repo, 'leak.txt');
    const api = await scriptedApi(
      perTaskScript({
        writer: (cwd) => [
          bash(`node -e "require('fs').writeFileSync('${leak}', 'escaped')"`),
          { name: 'Write', input: { file_path: leak, content: 'escaped through the file tool\n' } },
          { name: 'Write', input: { file_path: path.join(cwd, 'writer.txt'), content: 'written inside\n' } },
          bash('git add -A && git commit -q -m "Add writer"'),
        ],
        mover: () => [
          bash('git commit -q --allow-empty -m "Mover\'s own commit"'),
          bash('git -C . branch -f keep-me HEAD'),
          bash('git branch stray'),
        ],
        pusher: () => [bash('git push origin HEAD:main'), bash('git -C . push origin HEAD:main')],
      }),
    );
    await writeFiles(repo, {
      'prompts/writer.md': '# Writer\nWrite writer.txt.\n',
      'prompts/mover.md': '# Mover\nMove things.\n',
      'prompts/pusher.md': '# Pusher\nPublish.\n',
    });
    const env = await realClaudeEnv(api.url);
    const result = await runOrch(['run', 'prompts/*.md'], { cwd: repo, env });
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);

    const registry = await readRunRegistry(repo);
    // bubblewrap and socat are installed by .ci/run (apt-get install bubblewrap socat).
    expect(registry.run.sandbox, 'this test needs bubblewrap and socat: apt-get install bubblewrap socat').toMatchObject({ enabled: true });
    const task = (id: string) => registry.tasks.find((candidate) => candidate.id === id)!;

    // The agent's write into the user's checkout failed; its own write and commit landed on its branch.
    expect(await pathExists(leak)).toBe(false);
    const writerResults = await toolResults(repo, registry.run.id, task('writer').attemptLog[0]!.log);
    expect(writerResults[0]).toContain('EROFS');
    // Claude Code's own file tool is outside the sandbox: acceptEdits keeps it in the worktree.
    expect(writerResults[1]).toContain(`Claude requested permissions to write to ${leak}, but you haven't granted it yet`);
    expect(task('writer').permissionDenials).toEqual(['Write']);
    expect(task('writer').commits.map((commit) => commit.subject)).toEqual(['Add writer']);
    expect(await git(repo, 'show', `${task('writer').branch}:writer.txt`)).toBe('written inside');

    // The moved branch is back, the stray one gone, and the attempt flagged; other branches untouched.
    expect(await git(repo, 'rev-parse', 'keep-me')).toBe(initial);
    expect(await git(repo, 'branch', '--list', 'stray')).toBe('');
    // One event, or two when another task's attempt ended between the mover's two steps: its check
    // finds the first change and charges it to the mover (the three agents start side by side).
    const flagged = (await readLedger(repo)).filter((event) => event.type === 'refs-restored');
    expect(flagged.length).toBeGreaterThanOrEqual(1);
    for (const event of flagged) expect(event).toMatchObject({ taskId: 'mover', attempt: 1 });
    const changes = flagged.flatMap((event) => (event.type === 'refs-restored' ? event.changes : []));
    expect(changes).toHaveLength(2);
    expect(changes).toEqual(
      expect.arrayContaining([
        { ref: 'refs/heads/keep-me', action: 'moved', before: initial, after: task('mover').commits[0]!.sha },
        { ref: 'refs/heads/stray', action: 'created', after: task('mover').commits[0]!.sha },
      ]),
    );
    expect(task('mover').attemptLog[0]!.refsRestored).toHaveLength(2);
    expect(await git(repo, 'rev-parse', task('writer').branch)).toBe(task('writer').commits[0]!.sha);
    // Said as it happened: in one line, or in two when the changes were found by two checks.
    expect(result.stdout).toMatch(
      /! mover's agent changed refs outside its branch \(attempt 1\): moved keep-me from [0-9a-f]{9} to [0-9a-f]{9} \(put back\)/,
    );
    expect(result.stdout).toMatch(/! mover's agent changed refs outside its branch \(attempt 1\): (?:.*; )?created stray at [0-9a-f]{9}/);
    expect(result.stdout).toMatch(/ {2}mover: refs put back by the guard: moved keep-me/);
    const status = await runOrch(['status'], { cwd: repo });
    expect(status.stdout).toMatch(/^sandbox: on \(bubblewrap\): agents write only in their worktrees; network: none$/m);
    expect(status.stdout).toMatch(/^! mover \(attempt 1\): refs put back by the guard: moved keep-me/m);

    // The push was refused outright, and the push written another way could not write the remote.
    const pusherResults = await toolResults(repo, registry.run.id, task('pusher').attemptLog[0]!.log);
    expect(pusherResults[0]).toContain('Permission to use Bash with command git push origin HEAD:main has been denied');
    expect(pusherResults[1]).toMatch(/remote rejected|Read-only file system|unable to create/);
    expect(task('pusher').permissionDenials).toEqual(['Bash']);
    expect(await git(remote, 'rev-parse', 'main')).toBe(initial);
    expect(await git(repo, 'rev-parse', 'refs/remotes/origin/main')).toBe(initial);

    // With refsGuard "fail", the same agent's attempt fails with reason refs (the refs are put back all the same).
    await writeFiles(repo, { '.gadugi/config.json': JSON.stringify({ agent: { refsGuard: 'fail' } }) });
    // keep-me was put back as a file of its own, which the sandbox makes read-only: pack it again.
    await git(repo, 'pack-refs', '--all');
    const strict = await runOrch(['run', 'prompts/mover.md'], { cwd: repo, env });
    expect(strict.exitCode).toBe(1);
    const second = await readRunRegistry(
      repo,
      (await runIds(repo)).find((id) => id !== registry.run.id),
    );
    expect(second.tasks[0]).toMatchObject({ status: 'failed', failure: 'refs', attempts: 1 });
    expect(second.tasks[0]!.reason).toMatch(/^the agent changed refs outside its branch: moved keep-me .*; created stray/);
    expect(await git(repo, 'rev-parse', 'keep-me')).toBe(initial);
    expect(await git(repo, 'branch', '--list', 'stray')).toBe('');
  });
});

import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ProcessGroup, SpawnError } from '../../src/process/process-group.js';
import { identify, isAlive, readProcessInfo } from '../../src/process/process-info.js';
import { projectRoot } from '../support/orch.js';
import { tempDir } from '../support/tmp.js';

const fixture = (name: string) => path.join(projectRoot, 'test', 'fixtures', 'procs', name);

async function spawnFixture(name: string, args: string[] = [], stdin = '') {
  const dir = await tempDir();
  const files = { stdin: path.join(dir, 'in'), stdout: path.join(dir, 'out'), stderr: path.join(dir, 'err') };
  await writeFile(files.stdin, stdin);
  const agent = ProcessGroup.spawn({
    file: process.execPath,
    args: [fixture(name), ...args],
    cwd: dir,
    env: process.env,
    stdinFile: files.stdin,
    stdoutFile: files.stdout,
    stderrFile: files.stderr,
  });
  return { agent, files };
}

async function waitForOutput(file: string): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const text = await readFile(file, 'utf8').catch(() => '');
    if (text.includes('\n')) return text;
    await sleep(50);
  }
  throw new Error(`no output in ${file}`);
}

const alive = (pid: number) => {
  const info = readProcessInfo(pid);
  return info !== undefined && info.state !== 'Z';
};

describe('ProcessGroup', () => {
  it('gives the prompt file as stdin and writes stdout to its file', async () => {
    const { agent, files } = await spawnFixture('echo-stdin.mjs', [], 'the prompt\n');
    expect(await agent.exited).toEqual({ exitCode: 0, signal: null });
    expect(await readFile(files.stdout, 'utf8')).toBe('the prompt\n');
  });

  it('reports a non-zero exit', async () => {
    const { agent } = await spawnFixture('echo-stdin.mjs', ['3']);
    expect(await agent.exited).toEqual({ exitCode: 3, signal: null });
  });

  it('runs in its own process group', async () => {
    const { agent, files } = await spawnFixture('forever.mjs');
    await waitForOutput(files.stdout);
    expect(readProcessInfo(agent.pid)?.pgid).toBe(agent.pid);
    expect(readProcessInfo(process.pid)?.pgid).not.toBe(agent.pid);
    await agent.stop(1000);
  });

  it('stops with SIGTERM', async () => {
    const { agent, files } = await spawnFixture('forever.mjs');
    await waitForOutput(files.stdout);
    expect(await agent.stop(2000)).toEqual({ exitCode: null, signal: 'SIGTERM' });
    expect(alive(agent.pid)).toBe(false);
  });

  it('kills with SIGKILL what ignores SIGTERM, after the grace period', async () => {
    const { agent, files } = await spawnFixture('forever.mjs', ['ignore-term']);
    await waitForOutput(files.stdout);
    expect(await agent.stop(300)).toEqual({ exitCode: null, signal: 'SIGKILL' });
  });

  it('stops the whole group, grandchildren included', async () => {
    const { agent, files } = await spawnFixture('grandchild.mjs');
    const { grandchild } = JSON.parse(await waitForOutput(files.stdout)) as { grandchild: number };
    expect(alive(grandchild)).toBe(true);
    await agent.stop(1000);
    await sleep(100);
    expect(alive(grandchild)).toBe(false);
  });

  it('reaps what an agent left running in its group after it exited', async () => {
    const { agent, files } = await spawnFixture('grandchild.mjs', ['exit']);
    expect(await agent.exited).toEqual({ exitCode: 0, signal: null });
    const { grandchild } = JSON.parse(await readFile(files.stdout, 'utf8')) as { grandchild: number };
    expect(alive(grandchild)).toBe(true);
    await agent.reapGroup(1000);
    await sleep(100);
    expect(alive(grandchild)).toBe(false);
  });

  it('reports an executable that does not exist as a SpawnError', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'in'), '');
    const agent = ProcessGroup.spawn({
      file: path.join(dir, 'no-such-agent'),
      args: [],
      cwd: dir,
      env: process.env,
      stdinFile: path.join(dir, 'in'),
      stdoutFile: path.join(dir, 'out'),
      stderrFile: path.join(dir, 'err'),
    });
    await expect(agent.exited).rejects.toBeInstanceOf(SpawnError);
    await expect(agent.exited).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('adopts a process it did not start and follows it until it ends', async () => {
    const child = spawn(process.execPath, [fixture('forever.mjs')], { detached: true, stdio: 'ignore' });
    await sleep(200);
    const identity = identify(child.pid!)!;
    const adopted = ProcessGroup.adopt(identity, 50);
    expect(adopted.running).toBe(true);
    expect(await adopted.stop(2000)).toEqual({ exitCode: null, signal: null });
    expect(isAlive(identity)).toBe(false);
  });
});

describe('process identity', () => {
  it('is not fooled by a reused pid', () => {
    const identity = identify(process.pid)!;
    expect(isAlive(identity)).toBe(true);
    expect(isAlive({ pid: process.pid, startTime: `${identity.startTime}0` })).toBe(false);
    expect(isAlive({ pid: 2 ** 22 + 17, startTime: '1' })).toBe(false);
    expect(isAlive(undefined)).toBe(false);
  });
});

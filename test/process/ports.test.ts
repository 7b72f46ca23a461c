import { readFile, readdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { identify } from '../../src/process/process-info.js';
import { reclaimPorts, releasePorts, reservePorts } from '../../src/worktree/ports.js';
import { tempDir } from '../support/tmp.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

function listen(port: number): Promise<void> {
  const server = createServer();
  servers.push(server);
  return new Promise((resolve) => server.listen(port, '0.0.0.0', () => resolve()));
}

const me = identify(process.pid)!;
// random() picking the start of the range: the search starts at port 20000 + offset.
const startAt = (port: number) => () => (port - 20_000) / (60_000 - 20_000 - 2);

describe('reservePorts', () => {
  it('skips a port something is listening on', async () => {
    const dir = await tempDir();
    const busy = 20_000 + 10_000 + (process.pid % 5_000) * 2;
    await listen(busy);
    const ports = await reservePorts(2, me, 'run', 'task', { dir, random: startAt(busy) });
    expect(ports).toHaveLength(2);
    expect(ports).not.toContain(busy);
    expect(ports[1]).toBe(ports[0]! + 1);
    expect((await readdir(dir)).sort()).toEqual(ports.map(String).sort());
    await releasePorts(ports, me, dir);
    expect(await readdir(dir)).toEqual([]);
  });

  it('respects a live reservation and takes over one left by a process that is gone', async () => {
    const dir = await tempDir();
    const port = 20_000 + 20_000 + (process.pid % 5_000) * 2;
    await writeFile(
      path.join(dir, String(port)),
      JSON.stringify({ owner: { pid: process.pid, startTime: me.startTime }, runId: 'other', taskId: 'x' }),
    );
    const first = await reservePorts(1, { pid: 1, startTime: 'someone-else' }, 'run', 'task', { dir, random: startAt(port) });
    expect(first).not.toEqual([port]);
    await writeFile(
      path.join(dir, String(port)),
      JSON.stringify({ owner: { pid: 2 ** 22 + 7, startTime: 'dead' }, runId: 'crashed', taskId: 'x' }),
    );
    const second = await reservePorts(1, me, 'run', 'task', { dir, random: startAt(port) });
    expect(second).toEqual([port]);
  });

  it('an adopting orchestrator takes over its run’s reservations, never another live run’s', async () => {
    const dir = await tempDir();
    const [mine, theirs] = [20_000 + 25_000 + (process.pid % 5_000) * 2, 20_000 + 25_001 + (process.pid % 5_000) * 2];
    const dead = { pid: 2 ** 22 + 9, startTime: 'dead' };
    await writeFile(path.join(dir, String(mine)), JSON.stringify({ owner: dead, runId: 'run', taskId: 'task' }));
    await writeFile(path.join(dir, String(theirs)), JSON.stringify({ owner: me, runId: 'other-run', taskId: 'x' }));
    const adopter = { pid: process.pid, startTime: 'the resuming orchestrator' };
    await reclaimPorts([mine, theirs], adopter, 'run', 'task', dir);
    const owner = async (port: number) =>
      (JSON.parse(await readFile(path.join(dir, String(port)), 'utf8')) as { owner: { startTime: string } }).owner.startTime;
    expect(await owner(mine)).toBe('the resuming orchestrator');
    expect(await owner(theirs)).toBe(me.startTime);
    await releasePorts([mine], adopter, dir);
    expect(await readdir(dir)).toEqual([String(theirs)]);
  });
});

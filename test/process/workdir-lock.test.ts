import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { identify } from '../../src/process/process-info.js';
import { lockWorkdir } from '../../src/worker/workdir-lock.js';
import { Workdir } from '../../src/worker/workdir.js';
import type { LockNotice } from '../../src/worktree/owned-lock.js';
import { tempDir } from '../support/tmp.js';

async function plant(workdir: Workdir, owner: object): Promise<void> {
  await mkdir(workdir.lock, { recursive: true });
  await writeFile(path.join(workdir.lock, 'planted.owner'), JSON.stringify(owner));
}

describe('one worker per workdir', () => {
  it('a live worker’s workdir is refused at once, naming it', async () => {
    const workdir = new Workdir(await tempDir());
    const release = await lockWorkdir(workdir, () => undefined);
    await expect(lockWorkdir(workdir, () => undefined)).rejects.toThrow(
      `${workdir.root} is in use by another orch worker (pid ${process.pid}): give each worker its own --workdir.`,
    );
    await release();
    await (
      await lockWorkdir(workdir, () => undefined)
    )();
  });

  it('the lock of a worker that died here is taken over and said; one held on another machine is not judged by its pid', async () => {
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    const dead = identify(sleeper.pid!)!;
    sleeper.kill('SIGKILL');
    await once(sleeper, 'exit');
    const workdir = new Workdir(await tempDir());
    // An older orch's identity file beside the lock goes too.
    await writeFile(`${workdir.lock}.json`, JSON.stringify(dead));
    await plant(workdir, { host: hostname(), ...dead, since: '' });
    const notices: LockNotice[] = [];
    const release = await lockWorkdir(workdir, (notice) => notices.push(notice));
    expect(notices.map((notice) => notice.message)).toEqual([
      `removed ${workdir.lock}: its holder (pid ${dead.pid} on ${hostname()}) is gone`,
    ]);
    expect(existsSync(`${workdir.lock}.json`)).toBe(false);
    await release();

    await plant(workdir, { host: `not-${hostname()}`, ...dead, since: '' });
    await expect(lockWorkdir(workdir, () => undefined)).rejects.toThrow(
      `${workdir.root} is in use by another orch worker (pid ${dead.pid} on not-${hostname()}): give each worker its own --workdir.`,
    );
  });
});

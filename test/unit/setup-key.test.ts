import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lastSetupStamp, recordSetupStamp, setupStamp } from '../../src/worktree/setup-key.js';
import { tempDir } from '../support/tmp.js';

/** A folder that looks like a linked worktree: its `.git` file names its own git folder. */
async function fakeWorktree(): Promise<string> {
  const dir = await tempDir('orch-setup-key-');
  const worktree = path.join(dir, 'wt');
  const gitDir = path.join(dir, 'admin');
  await mkdir(worktree);
  await mkdir(gitDir);
  await writeFile(path.join(worktree, '.git'), `gitdir: ${gitDir}\n`);
  return worktree;
}

describe('setup stamps', () => {
  it('change with the key files’ content and the commands, not otherwise', async () => {
    const worktree = await fakeWorktree();
    await writeFile(path.join(worktree, 'package-lock.json'), '{"v":1}');
    const commands = ['npm ci'];
    const keys = ['package-lock.json', 'missing.json'];
    const first = await setupStamp(worktree, commands, keys);
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    expect(await setupStamp(worktree, commands, keys)).toBe(first);
    expect(await setupStamp(worktree, ['npm install'], keys)).not.toBe(first);
    expect(await setupStamp(worktree, commands, ['package-lock.json'])).not.toBe(first);
    await writeFile(path.join(worktree, 'package-lock.json'), '{"v":2}');
    expect(await setupStamp(worktree, commands, keys)).not.toBe(first);
    // A file appearing where none was changes it too.
    const before = await setupStamp(worktree, commands, keys);
    await writeFile(path.join(worktree, 'missing.json'), '');
    expect(await setupStamp(worktree, commands, keys)).not.toBe(before);
  });

  it('are none without key files: setup then always runs', async () => {
    expect(await setupStamp(await fakeWorktree(), ['npm ci'], [])).toBeUndefined();
  });

  it('are kept in the worktree’s own git folder, and forgotten on request', async () => {
    const worktree = await fakeWorktree();
    expect(await lastSetupStamp(worktree)).toBeUndefined();
    await recordSetupStamp(worktree, 'abc');
    expect(await lastSetupStamp(worktree)).toBe('abc');
    await recordSetupStamp(worktree, undefined);
    expect(await lastSetupStamp(worktree)).toBeUndefined();
  });
});

import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { replaceFile } from '../../src/state/atomic-file.js';
import { tempDir } from '../support/tmp.js';

describe('replaceFile', () => {
  it('creates a file, then replaces it whole, leaving nothing else beside it', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'registry.json');
    await replaceFile(file, 'first\n');
    await replaceFile(file, 'second\n');
    expect(await readFile(file, 'utf8')).toBe('second\n');
    expect(await readdir(dir)).toEqual(['registry.json']);
  });

  it('a write that fails leaves what was there and no temporary file', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'registry.json');
    // A folder in the way: the rename fails after the text was written and flushed.
    await mkdir(file);
    await writeFile(path.join(file, 'inside'), 'kept\n');
    await expect(replaceFile(file, 'new\n')).rejects.toMatchObject({
      code: expect.stringMatching(/^(EISDIR|ENOTEMPTY|EEXIST)$/) as string,
    });
    expect(await readdir(dir)).toEqual(['registry.json']);
    expect(await readFile(path.join(file, 'inside'), 'utf8')).toBe('kept\n');
  });

  it('refuses to write through a missing folder, and says why (ENOENT)', async () => {
    const dir = await tempDir();
    await expect(replaceFile(path.join(dir, 'gone', 'registry.json'), 'x')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readdir(dir)).toEqual([]);
  });
});

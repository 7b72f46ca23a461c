import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { UserError } from '../../src/errors.js';
import { readRegistry, writeRegistry } from '../../src/state/registry-file.js';
import type { Registry } from '../../src/state/registry.js';
import { tempDir } from '../support/tmp.js';

const writeFileAtomic = vi.hoisted(() => ({ fail: undefined as string | undefined }));
vi.mock('../../src/state/atomic-file.js', async (importOriginal) => {
  const actual = await importOriginal<{ replaceFile: (file: string, text: string) => Promise<void> }>();
  return {
    replaceFile: (file: string, text: string) => {
      if (writeFileAtomic.fail)
        return Promise.reject(Object.assign(new Error(`${writeFileAtomic.fail}: simulated`), { code: writeFileAtomic.fail }));
      return actual.replaceFile(file, text);
    },
  };
});

const registry = (id: string): Registry => ({
  run: {
    version: 1,
    id,
    repoRoot: '/r',
    baseRef: 'HEAD',
    baseSha: 'abc',
    promptFiles: [],
    worktreeRoot: '/w',
    config: {},
    conflicts: [],
    orchestrator: { pid: 1, startTime: '1', host: 'h' },
    sessions: [],
    startedAt: '2026-01-01T00:00:00Z',
    heartbeatAt: '2026-01-01T00:00:00Z',
    status: 'running',
    mode: 'parallel',
    limit: { value: 1, reason: 'cores' },
  },
  tasks: [],
});

describe('registry file', () => {
  it('round-trips a registry', async () => {
    const file = path.join(await tempDir(), 'registry.json');
    await writeRegistry(file, registry('a'));
    expect(await readRegistry(file)).toEqual(registry('a'));
  });

  it('turns a full disk into a clear error and keeps the last good registry', async () => {
    const file = path.join(await tempDir(), 'registry.json');
    await writeRegistry(file, registry('good'));
    const before = await readFile(file, 'utf8');
    writeFileAtomic.fail = 'ENOSPC';
    try {
      await expect(writeRegistry(file, registry('lost'))).rejects.toThrow(
        new UserError(
          `cannot write the registry ${file}: the disk is full (ENOSPC); the last good registry was kept. Free some space or fix the permissions, then \`orch resume\`.`,
        ),
      );
    } finally {
      writeFileAtomic.fail = undefined;
    }
    expect(await readFile(file, 'utf8')).toBe(before);
  });

  it('names a truncated or invalid registry and does not touch it', async () => {
    const file = path.join(await tempDir(), 'registry.json');
    await writeFile(file, '{"run": {"id": "x"');
    await expect(readRegistry(file)).rejects.toThrow(/^the registry .*registry\.json is corrupted \(.*\); it was left unchanged/);
    await writeFile(file, '{"run": {"id": "x"}, "tasks": []}');
    await expect(readRegistry(file)).rejects.toThrow(/is corrupted \(run\.version: Invalid input: expected 1\);/);
    expect(await readFile(file, 'utf8')).toBe('{"run": {"id": "x"}, "tasks": []}');
  });
});

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import type { StampedEvent } from '../../src/events.js';
import { runPaths } from '../../src/state/paths.js';
import type { Registry } from '../../src/state/registry.js';
import { RunStore } from '../../src/state/store.js';
import { tempDir } from '../support/tmp.js';

const registry = (): Registry => ({
  run: {
    version: 1,
    id: '20260101-000000-abcd',
    repoRoot: '/r',
    baseRef: 'HEAD',
    baseSha: 'abc',
    promptFiles: [],
    worktreeRoot: '/w',
    config: {},
    conflicts: [],
    orchestrator: { pid: 1, startTime: '1', host: 'h' },
    sessions: [],
    startedAt: 't',
    heartbeatAt: 't',
    status: 'running',
    mode: 'parallel',
    limit: { value: 1, reason: 'cores' },
  },
  tasks: [],
});

async function paths() {
  const run = runPaths(await tempDir(), '20260101-000000-abcd');
  await mkdir(run.dir, { recursive: true });
  return run;
}

describe('RunStore', () => {
  it('writes the registry, then the ledger line, then tells the renderers; activity is not a state change', async () => {
    const run = await paths();
    const seen: StampedEvent[] = [];
    const store = RunStore.create(run, registry(), (event) => seen.push(event));
    store.run.heartbeatAt = 'changed';
    await store.record({ type: 'warning', message: 'one' });
    store.notify({ type: 'task-activity', taskId: 't', activity: 'Bash: ls', turns: 1 });
    await Promise.all([store.record({ type: 'warning', message: 'two' }), store.record({ type: 'warning', message: 'three' })]);
    expect(JSON.parse(await readFile(run.registry, 'utf8')).run.heartbeatAt).toBe('changed');
    const ledger = (await readFile(run.ledger, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as StampedEvent);
    expect(ledger.map((event) => [event.seq, (event as { message: string }).message])).toEqual([
      [1, 'one'],
      [2, 'two'],
      [3, 'three'],
    ]);
    expect(seen.map((event) => event.type)).toEqual(['warning', 'task-activity', 'warning', 'warning']);
  });

  it('ends a partial last ledger line left by a crash, and numbers on from the last line', async () => {
    const run = await paths();
    await writeFile(run.ledger, '{"type":"warning","message":"x","seq":1,"at":"t"}\n{"type":"warn');
    const store = await RunStore.open(run, registry(), () => undefined);
    const next = await store.record({ type: 'warning', message: 'after the crash' });
    expect(next.seq).toBe(3);
    const lines = (await readFile(run.ledger, 'utf8')).split('\n');
    expect(lines[1]).toBe('{"type":"warn');
    expect(JSON.parse(lines[2]!)).toMatchObject({ message: 'after the crash', seq: 3 });
  });
});

import type * as FsPromises from 'node:fs/promises';
import { appendFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { tempDir } from '../support/tmp.js';

// Each read's file handle closes only when the test says so: that holds a read open after it
// has met the end of the file, the moment an agent's last lines can still arrive.
const closeGate = vi.hoisted(() => {
  let release: (() => void) | undefined;
  let closing: (() => void) | undefined;
  const state = {
    held: false,
    /** Resolves when a read reaches its close() while the gate is held. */
    reached: new Promise<void>(() => {}),
    hold(): void {
      state.held = true;
      state.reached = new Promise<void>((resolve) => {
        closing = resolve;
      });
    },
    wait(): Promise<void> {
      closing?.();
      return new Promise<void>((resolve) => {
        release = resolve;
      });
    },
    open(): void {
      state.held = false;
      release?.();
    },
  };
  return state;
});

vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof FsPromises>();
  return {
    ...actual,
    open: async (...args: Parameters<typeof actual.open>) => {
      const handle = await actual.open(...args);
      const close = handle.close.bind(handle);
      handle.close = async () => {
        if (closeGate.held) await closeGate.wait();
        return close();
      };
      return handle;
    },
  };
});

const { LineFollower } = await import('../../src/agent/follow.js');

describe('LineFollower', () => {
  it('stop() reads the lines written after a read already under way met the end of the file', async () => {
    const file = path.join(await tempDir(), 'agent.jsonl');
    writeFileSync(file, '{"type":"system"}\n');
    const lines: string[] = [];
    const follower = new LineFollower(file, (line) => lines.push(line));

    closeGate.hold();
    const reading = follower.poll();
    await closeGate.reached;
    // The agent writes its result and exits while that read is finishing.
    appendFileSync(file, '{"type":"result"}\n');
    const stopped = follower.stop();
    closeGate.open();
    await Promise.all([reading, stopped]);

    expect(lines).toEqual(['{"type":"system"}', '{"type":"result"}']);
  });

  it('delivers a final line without a newline on stop()', async () => {
    const file = path.join(await tempDir(), 'agent.jsonl');
    writeFileSync(file, 'one\ntwo');
    const lines: string[] = [];
    const follower = new LineFollower(file, (line) => lines.push(line));
    await follower.poll();
    expect(lines).toEqual(['one']);
    await follower.stop();
    expect(lines).toEqual(['one', 'two']);
  });
});

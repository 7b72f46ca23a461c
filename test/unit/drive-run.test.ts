import { describe, expect, it } from 'vitest';
import { driveRun } from '../../src/cli/drive-run.js';
import type { CommandContext } from '../../src/cli/context.js';
import { UserError } from '../../src/errors.js';

function context(): CommandContext & { errors: string[]; code?: number } {
  const errors: string[] = [];
  const ctx: CommandContext & { errors: string[]; code?: number } = {
    cwd: '/',
    env: {},
    argv: [],
    out: () => undefined,
    err: (text) => errors.push(text),
    setExitCode: (code) => {
      ctx.code = code;
    },
    errors,
  };
  return ctx;
}

describe('driveRun', () => {
  it('an environment failure is one line', async () => {
    const ctx = context();
    await driveRun(ctx, true, async () => ({
      outcome: { exitCode: 2, error: new UserError('cannot write the prompt file p: the disk is full (ENOSPC)') },
    }));
    expect(ctx.errors).toEqual(['orch: cannot write the prompt file p: the disk is full (ENOSPC)']);
    expect(ctx.code).toBe(2);
  });

  it('an internal error during a run is printed with its stack trace', async () => {
    const ctx = context();
    const bug = new TypeError('x is not a function');
    await driveRun(ctx, true, async () => ({
      outcome: { exitCode: 1, error: new UserError('internal error: x is not a function', 1), internalError: bug },
    }));
    expect(ctx.errors[0]).toBe('orch: internal error: x is not a function');
    expect(ctx.errors[1]).toBe(bug.stack);
    expect(ctx.errors[1]).toMatch(/^TypeError: x is not a function\n\s+at /);
    expect(ctx.code).toBe(1);
  });
});

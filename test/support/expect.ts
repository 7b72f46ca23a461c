import { expect } from 'vitest';

/** A user mistake or an unusable environment: one line on stderr, no stack trace, exit 2. */
export function expectOneLine(result: { exitCode: number; stderr: string }, message: RegExp, exitCode = 2): void {
  expect(result.stderr).toMatch(message);
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  expect(result.stderr).not.toMatch(/\n\s+at /);
  expect(result.exitCode).toBe(exitCode);
}

import { afterEach, beforeEach, expect } from 'vitest';

// Coverage of the built orch that the tests spawn: every child process writes its V8 coverage here.
if (process.env.ORCH_COVERAGE_DIR) process.env.NODE_V8_COVERAGE = process.env.ORCH_COVERAGE_DIR;
import { killProcessesWith } from './processes.js';

/**
 * Every test is checked for processes it leaves behind. Each gets its own mark in the
 * environment, which every process it starts inherits (orch, agents, git, servers); after the
 * test, any process still carrying the mark fails it, and is killed.
 */
let counter = 0;
let mark: string | undefined;

beforeEach(() => {
  counter += 1;
  mark = `${process.pid}-${counter}`;
  process.env.ORCH_TEST_MARK = mark;
});

// Registered first, so it runs after the tests' own afterEach hooks (which stop their servers).
afterEach(async () => {
  const current = mark;
  delete process.env.ORCH_TEST_MARK;
  if (current) expect(await killProcessesWith(`ORCH_TEST_MARK=${current}`), 'processes left behind by the test').toEqual([]);
});

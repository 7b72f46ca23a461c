import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, expect } from 'vitest';

// orch remembers git's version in $XDG_CACHE_HOME/orch (src/worktree/git-version.ts): the tests'
// orch, and everything they start, write a temporary one, never the real home's.
const cacheHome = mkdtempSync(path.join(tmpdir(), 'orch-test-cache-'));
process.env.XDG_CACHE_HOME = cacheHome;
afterAll(() => rmSync(cacheHome, { recursive: true, force: true }));

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

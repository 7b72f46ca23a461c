import type { AttemptKind } from '../../src/domain/vocabulary.js';
import type { AttemptRecord, TaskRecord } from '../../src/state/registry.js';

/** A task record for unit tests: a running task on its first attempt unless told otherwise. */
export const taskRecord = (overrides: Partial<TaskRecord> = {}): TaskRecord => ({
  id: 't',
  title: 't',
  promptFile: 't.md',
  dependsOn: [],
  files: [],
  priority: 0,
  order: 0,
  status: 'running',
  worktree: '/w',
  branch: 'b',
  attempts: 1,
  retriesUsed: 0,
  apiRequeues: 0,
  attemptLog: [],
  permissionDenials: [],
  commits: [],
  ...overrides,
});

export const attemptRecord = (kind: AttemptKind = 'fresh', overrides: Partial<AttemptRecord> = {}): AttemptRecord => ({
  number: 1,
  kind,
  startedAt: '2026-01-01T00:00:00.000Z',
  log: 'logs/t.jsonl',
  stderr: 'logs/t.stderr',
  prompt: 'prompts/t.md',
  parallel: false,
  ...overrides,
});

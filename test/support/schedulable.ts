import type { SchedulableTask } from '../../src/scheduler/policy.js';

/** A pending task with no dependencies, priority 0 and order 0, for the scheduler's table tests. */
export const schedulableTask = (id: string, overrides: Partial<SchedulableTask> = {}): SchedulableTask => ({
  id,
  status: 'pending',
  dependsOn: [],
  priority: 0,
  order: 0,
  ...overrides,
});

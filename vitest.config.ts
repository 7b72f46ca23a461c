import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Every test is checked for processes it leaves behind.
    setupFiles: ['test/support/setup.ts'],
    // End-to-end tests spawn the built binary, git and agent processes: give them room.
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});

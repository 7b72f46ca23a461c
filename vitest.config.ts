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
    // In-process coverage (unit and process tests); the built binary's, spawned by the end-to-end
    // tests, is collected through NODE_V8_COVERAGE (see test/support/setup.ts and scripts/coverage.ts).
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      reporter: ['json'],
      reportsDirectory: 'coverage/in-process',
    },
  },
});

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    setupFiles: ['test/support/env.ts'],
    pool: 'forks',
    // The JSON report is what .ci/run counts for its closing `N passed, N failed` line.
    reporters: ['default', ['json', { outputFile: '.test-results.json' }]],
  },
});

import { defineConfig } from 'vitest/config';

/**
 * Three projects, one per kind of test: `unit` needs nothing but Node (the pure core, the
 * adapters' logic and the CDK assertions), `integration` talks to the real Postgres and Redis and
 * starts servers of its own, `e2e` runs the product as a user does. `npm test` runs them all.
 */
export default defineConfig({
  test: {
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    setupFiles: ['test/support/env.ts'],
    pool: 'forks',
    // The JSON report is what .ci/run counts for its closing `N passed, N failed` line.
    reporters: ['default', ['json', { outputFile: '.test-results.json' }]],
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts', 'test/infra/**/*.test.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/reliability/**/*.test.ts'],
        },
      },
      { extends: true, test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'] } },
    ],
  },
});

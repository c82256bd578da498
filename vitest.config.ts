import { defineConfig } from 'vitest/config';

// Layers: pure logic (unit), the workflows with stubbed activities on Temporal's time-skipping
// test server (workflows: no stack, days of policy time in seconds), stored histories replayed
// (replay: no server at all), the SCIM target server on its own (targets), the connector
// conformance kit against real servers (connectors), flows on the real local stack
// (integration), and on the secured local stack (secure: TLS and credentials at every hop). The
// global setup of the last three brings its stack up or reuses it.
export default defineConfig({
  test: {
    // Two test files at a time (vitest's default is one fewer than the CPUs: one on the 2-CPU CI
    // machine). The integration files mostly wait on Kafka, Temporal and the apps, so two at once
    // take about two thirds of the time; each file owns its topics, task queue and store schema.
    maxWorkers: 2,
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], setupFiles: ['test/helpers/no-console.ts'] } },
      {
        test: {
          name: 'workflows',
          include: ['test/workflows/**/*.test.ts'],
          // Fetches the test server into the cache on the first run (Maven), and bundles the workflows once.
          globalSetup: ['test/workflows/global-setup.ts'],
          setupFiles: ['test/workflows/quiet-runtime.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      { test: { name: 'replay', include: ['test/replay/**/*.test.ts'], setupFiles: ['test/helpers/temporal-runtime.ts'], testTimeout: 120_000, hookTimeout: 120_000 } },
      { test: { name: 'targets', include: ['test/targets/**/*.test.ts'], setupFiles: ['test/helpers/no-console.ts'], testTimeout: 30_000 } },
      {
        test: {
          name: 'connectors',
          include: ['test/connectors/**/*.test.ts'],
          globalSetup: ['test/helpers/stack-setup.ts'],
          setupFiles: ['test/helpers/temporal-runtime.ts'],
          testTimeout: 120_000,
          hookTimeout: 600_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/helpers/stack-setup.ts'],
          setupFiles: ['test/helpers/temporal-runtime.ts'],
          testTimeout: 120_000,
          hookTimeout: 600_000,
          fileParallelism: true,
        },
      },
      {
        test: {
          name: 'secure',
          include: ['test/secure/**/*.test.ts'],
          globalSetup: ['test/helpers/secure-stack-setup.ts'],
          setupFiles: ['test/helpers/temporal-runtime.ts'],
          testTimeout: 120_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});

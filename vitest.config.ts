import { defineConfig } from 'vitest/config';

// Layers: pure logic (unit), the SCIM target server on its own (targets), the connector conformance
// kit against real servers (connectors), and flows on the real local stack (integration). The
// global setup of the last two brings the stack up or reuses it.
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], setupFiles: ['test/helpers/no-console.ts'] } },
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
    ],
  },
});

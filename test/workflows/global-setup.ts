// vitest global setup of the workflow tests: no stack, no server left running. It makes sure the
// time-skipping test server is in the cache (fetched from Maven Central on the first run, then
// reused) and bundles the workflows once, from source, for every test file's workers.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { buildWorkflowBundle } from '../../runtime/workflows-path.js';
import { loadConfig } from '../../schemas/config.js';
import { obtainTestServer } from '../../stack/temporal-test-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The wrapper script that starts the time-skipping test server (`<script> <port>`). */
    testServer: string;
    /** The workflow bundle built from source for this run. */
    workflowBundle: string;
  }
}

export default async function setup(project: TestProject): Promise<() => void> {
  const report = (line: string) => process.stderr.write(`[workflows] ${line}\n`);
  const started = Date.now();
  const testServer = await obtainTestServer(loadConfig().cacheDir, report);
  const dir = mkdtempSync(path.join(tmpdir(), 'provisioner-workflows-'));
  const { codePath } = await buildWorkflowBundle(path.join(dir, 'workflow-bundle.js'));
  report(`test server and workflow bundle ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  project.provide('testServer', testServer);
  project.provide('workflowBundle', codePath);
  return () => rmSync(dir, { recursive: true, force: true });
}

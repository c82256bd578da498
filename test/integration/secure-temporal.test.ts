// Temporal with TLS and client certificates: the secured stack's server (stack/temporal-secure-server),
// started here when it is not running and left running for the next file, reached with the client
// settings of examples/secure-stack.yaml. A worker and a client run a workflow over mTLS; a client
// without a certificate, with one from another CA, or trusting another CA is refused in one line.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectTemporal, connectTemporalNative } from '../../clients/temporal-connection.js';
import { loadConfig, projectRoot, SECURE_STACK_CONFIG, type Config } from '../../schemas/config.js';
import { stackUp } from '../../stack/stack.js';
import { createTestPki, type TestPki } from '../helpers/tls.js';
import { uniqueName } from '../helpers/unique.js';

// env: {}: the plain stack's exported variables (TEMPORAL_ADDRESS, ...) must not override the file.
const cfg = loadConfig({ file: path.join(projectRoot, SECURE_STACK_CONFIG), env: {} });
const tls = cfg.temporal.tls!;
const withTls = (t: NonNullable<Config['temporal']['tls']>) => ({ temporal: { ...cfg.temporal, tls: t } });
const hop = `at ${cfg.temporal.address} (namespace ${cfg.temporal.namespace})`;
let other: TestPki;

beforeAll(async () => {
  await stackUp(cfg, (line) => process.stderr.write(`[secure stack] ${line}\n`), ['temporal']);
  other = createTestPki('Another CA');
});
afterAll(() => other?.remove());

describe('Temporal requiring client certificates', () => {
  it('a worker and a client with the configured certificate run a workflow to its end', async () => {
    const taskQueue = uniqueName('secure-temporal');
    const connection = await connectTemporalNative(cfg);
    const clientConnection = await connectTemporal(cfg);
    try {
      const worker = await Worker.create({
        connection,
        namespace: cfg.temporal.namespace,
        taskQueue,
        workflowsPath: fileURLToPath(new URL('./fixtures/echo-workflow.ts', import.meta.url)),
        activities: { shout: async (text: string) => text.toUpperCase() },
      });
      const client = new Client({ connection: clientConnection, namespace: cfg.temporal.namespace });
      const result = await worker.runUntil(client.workflow.execute('echoWorkflow', { taskQueue, workflowId: uniqueName('secure-echo'), args: [{ text: 'over mtls' }] }));
      expect(result).toBe('echo: OVER MTLS');
    } finally {
      await clientConnection.close();
      await connection.close();
    }
  });

  it('a client without a certificate is refused with one temporal: line that says to set one', async () => {
    const noCert = withTls({ caFile: tls.caFile, serverName: tls.serverName });
    const expected = `temporal: the server requires a client certificate (mTLS) and none is configured ${hop}; check temporal.tls.certFile and keyFile (TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY)`;
    await expect(connectTemporal(noCert, { connectTimeout: 3000 })).rejects.toThrow(expected);
    await expect(connectTemporalNative(noCert)).rejects.toThrow(expected);
  });

  it('a client certificate from another CA is refused', async () => {
    const strange = withTls({ ...tls, certFile: other.clientCertFile, keyFile: other.clientKeyFile });
    const expected = new RegExp(`^temporal: the server refused the client certificate \\(\\w+\\) ${hop.replace(/[().]/g, '\\$&')}; check temporal\\.tls\\.certFile and keyFile`);
    await expect(connectTemporal(strange, { connectTimeout: 3000 })).rejects.toThrow(expected);
    await expect(connectTemporalNative(strange)).rejects.toThrow(expected);
  });

  it('a client trusting another CA refuses the server', async () => {
    const wrongCa = withTls({ ...tls, caFile: other.caFile });
    const expected = new RegExp(`^temporal: the server's certificate is not signed by a CA the client trusts \\(\\w+\\) ${hop.replace(/[().]/g, '\\$&')}; check temporal\\.tls\\.caFile \\(TEMPORAL_TLS_CA\\)$`);
    await expect(connectTemporal(wrongCa, { connectTimeout: 3000 })).rejects.toThrow(expected);
    await expect(connectTemporalNative(wrongCa)).rejects.toThrow(expected);
  });

  it('a client speaking plaintext to it is told the server speaks TLS', async () => {
    const plain = { temporal: { ...cfg.temporal, tls: undefined } };
    await expect(connectTemporal(plain, { connectTimeout: 3000 })).rejects.toThrow(`temporal: the server speaks TLS and the client connected without it ${hop}`);
  });
});

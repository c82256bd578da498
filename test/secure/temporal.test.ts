// Temporal with TLS and client certificates: the secured stack's server (stack/temporal-secure-server),
// started here when it is not running and left running for the next file, reached with the client
// settings of examples/secure-stack.yaml. A worker and a client run a workflow over mTLS; a client
// without a certificate, with one from another CA, or trusting another CA is refused in one line.
// Then a second one of those servers that also asks for an API key, as Temporal Cloud does, with
// its own data folder and CA: the key is accepted, a wrong one refused, a rotated file taken up.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectTemporal, connectTemporalNative } from '../../clients/temporal-connection.js';
import { stackPkiDir, type Config } from '../../schemas/config.js';
import { devPkiFiles } from '../../stack/dev-pki.js';
import { stackUp } from '../../stack/stack.js';
import { temporalDown } from '../../stack/temporal.js';
import { createTestPki, type TestPki } from '../helpers/tls.js';
import { secureStackConfig } from '../helpers/secure-stack.js';
import { uniqueName } from '../helpers/unique.js';

// The secured stack's settings (its global setup brought the server up).
const cfg = secureStackConfig();
const tls = cfg.temporal.tls!;
const withTls = (t: NonNullable<Config['temporal']['tls']>) => ({ temporal: { ...cfg.temporal, tls: t } });
const hop = `at ${cfg.temporal.address} (namespace ${cfg.temporal.namespace})`;
let other: TestPki;

beforeAll(async () => {
  other = createTestPki('Another CA');
});
afterAll(() => other?.remove());

/** A worker and a client, each on its own connection from `settings`, run the echo workflow. */
async function runEcho(settings: Pick<Config, 'temporal'>, text: string): Promise<string> {
  const taskQueue = uniqueName('secure-temporal');
  const connection = await connectTemporalNative(settings);
  const clientConnection = await connectTemporal(settings);
  try {
    const worker = await Worker.create({
      connection,
      namespace: settings.temporal.namespace,
      taskQueue,
      workflowsPath: fileURLToPath(new URL('../integration/fixtures/echo-workflow.ts', import.meta.url)),
      activities: { shout: async (t: string) => t.toUpperCase() },
    });
    const client = new Client({ connection: clientConnection, namespace: settings.temporal.namespace });
    return await worker.runUntil(client.workflow.execute('echoWorkflow', { taskQueue, workflowId: uniqueName('secure-echo'), args: [{ text }] }));
  } finally {
    await clientConnection.close();
    await connection.close();
  }
}

describe('Temporal requiring client certificates', () => {
  it('a worker and a client with the configured certificate run a workflow to its end', async () => {
    expect(await runEcho(cfg, 'over mtls')).toBe('echo: OVER MTLS');
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

describe('Temporal asking for an API key as well (as Temporal Cloud does)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'secure-temporal-key-'));
  const apiKeyFile = path.join(dir, 'temporal-api-key');
  const pki = devPkiFiles(stackPkiDir({ dataDir: dir }));
  // Its own server: another port and data folder (so another development CA), the key file set.
  const keyed: Config = {
    ...cfg,
    dataDir: dir,
    temporal: { ...cfg.temporal, address: 'localhost:17244', apiKeyFile, tls: { caFile: pki.caFile, certFile: pki.clientCertFile, keyFile: pki.clientKeyFile, serverName: 'localhost' } },
  };
  const keyedHop = `at ${keyed.temporal.address} (namespace ${keyed.temporal.namespace})`;

  beforeAll(async () => {
    writeFileSync(apiKeyFile, 'first-key-0123456789\n', { mode: 0o600 });
    await stackUp(keyed, (line) => process.stderr.write(`[keyed temporal] ${line}\n`), ['temporal']);
  });
  afterAll(async () => {
    await temporalDown(keyed);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a worker and a client with the key and the certificate run a workflow to its end', async () => {
    expect(await runEcho(keyed, 'with a key')).toBe('echo: WITH A KEY');
  });

  it('a wrong key is refused in one temporal: line that names the key settings, not the key', async () => {
    const wrong = { temporal: { ...keyed.temporal, apiKeyFile: undefined, apiKey: 'not-the-key-42' } };
    const expected = `temporal: the server refused the API key ${keyedHop}; check temporal.apiKey or temporal.apiKeyFile (TEMPORAL_API_KEY, TEMPORAL_API_KEY_FILE) and temporal.namespace (TEMPORAL_NAMESPACE)`;
    const clientError = await connectTemporal(wrong, { connectTimeout: 3000 }).then(() => undefined, (err: Error) => err);
    expect(clientError?.message).toBe(expected);
    const nativeError = await connectTemporalNative(wrong).then(() => undefined, (err: Error) => err);
    expect(nativeError?.message).toBe(expected);
    expect(`${clientError?.message} ${nativeError?.message}`).not.toContain('not-the-key-42');
  });

  it('a rotated key file is taken up by open connections, the client at its next call and the worker within the check interval', async () => {
    const client = await connectTemporal(keyed);
    const native = await connectTemporalNative(keyed, { apiKeyCheckMs: 200 });
    try {
      const describe = (c: typeof client | typeof native) => c.workflowService.describeNamespace({ namespace: keyed.temporal.namespace });
      await describe(client);
      await describe(native);
      // The server reads the file on each call: from now on only the second key holds.
      writeFileSync(apiKeyFile, 'second-key-rotated-abcdefghij\n');
      expect((await describe(client)).namespaceInfo?.name).toBe(keyed.temporal.namespace);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect((await describe(native)).namespaceInfo?.name).toBe(keyed.temporal.namespace);
    } finally {
      await client.close();
      await native.close();
    }
  });
});

// The Temporal UI reads the workflows in clear: a real browser (Debian's chromium, headless, driven
// by playwright-core) opens the Temporal dev server's Web UI on a person's identity workflow and
// sees the decoded input, HR event and query answer, which the history holds sealed (`binary/sealed`),
// and the fence workflow's memo with its held requests in clear.
//
// The UI calls the codec endpoint it was started with (`--ui-codec-endpoint`), so this file runs
// its own dev server, started by the stack's own code (stack/temporal.ts) on free ports, with the
// codec endpoint of the API this file starts: the plain stack's UI points at http.apiPort, which a
// running demo may hold. Kafka and PostgreSQL are the plain stack's.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JwtSettings } from '../../api/auth.js';
import { startApi, type ApiServer } from '../../api/server.js';
import { connectTemporal } from '../../clients/temporal-connection.js';
import { dataConverter } from '../../codec/data-converter.js';
import { ENCRYPTED_ENCODING } from '../../codec/encryption-codec.js';
import { loadConfig, type Config } from '../../schemas/config.js';
import { freePort } from '../../stack/processes.js';
import { which } from '../../stack/shell.js';
import { temporalDown, temporalUp, uiCodecEndpoint } from '../../stack/temporal.js';
import { getState, identityWorkflowId } from '../../workflows/messages.js';
import { hrEvent } from '../helpers/hr-events.js';
import { eventually, logger, startPipeline, type Pipeline } from '../helpers/pipeline.js';
import { uniqueName } from '../helpers/unique.js';

/** Debian's chromium (scripts/setup.sh installs it as root); CHROMIUM names another binary. */
const CHROMIUM = process.env.CHROMIUM ?? which('chromium') ?? '/usr/bin/chromium';

const jwt: JwtSettings = { secret: new TextEncoder().encode(`ui-test-secret-${uniqueName('s')}-0123456789abcdef`), issuer: 'provisioner', audience: 'provisioner-api' };

let serverCfg: Config | undefined;
let p: Pipeline;
let connection: Connection;
let client: Client;
let api: ApiServer;
let browser: Browser;
let uiUrl: string;
beforeAll(async () => {
  // Fail, never skip, without a browser: the README's test command installs it.
  if (!existsSync(CHROMIUM)) {
    throw new Error(`chromium is not installed at ${CHROMIUM}; install it with: apt-get update && apt-get install -y chromium (scripts/setup.sh does it as root), or set CHROMIUM to a Chromium binary`);
  }
  const base = loadConfig();
  const [temporalPort, uiPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  uiUrl = `http://127.0.0.1:${uiPort}`;
  const temporal = { ...base.temporal, address: `127.0.0.1:${temporalPort}`, uiPort };
  // The stack's own start of the dev server: its data, pid file and log in a folder of this file.
  serverCfg = {
    ...base,
    dataDir: mkdtempSync(path.join(tmpdir(), 'temporal-ui-')),
    temporal: { ...temporal, external: false },
    api: { ...base.api, url: `http://127.0.0.1:${apiPort}` },
  };
  expect(uiCodecEndpoint(serverCfg)).toBe(`http://127.0.0.1:${apiPort}/codec`);
  await temporalUp(serverCfg, (line) => logger.info(line));

  p = await startPipeline({ appNames: ['chat'], config: { ...base, temporal: { ...temporal, external: true } } });
  connection = await connectTemporal(p.cfg);
  client = new Client({ connection, namespace: p.cfg.temporal.namespace, dataConverter: dataConverter(p.cfg.dataDir) });
  // Development mode, as the demo: the loopback UI decodes without a token (api/server.ts).
  expect(p.cfg.mode).toBe('development');
  api = await startApi({ cfg: p.cfg, logger, client, store: p.store, port: apiPort, jwt });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
});
afterAll(async () => {
  await browser?.close();
  await api?.close();
  await connection?.close();
  await p?.close();
  if (serverCfg) {
    await temporalDown(serverCfg);
    rmSync(serverCfg.dataDir, { recursive: true, force: true });
  }
});

describe('the Temporal UI', () => {
  it("shows a person's identity workflow decoded through the codec endpoint, which the history holds sealed", async () => {
    const id = uniqueName('E').replaceAll('.', '');
    const givenName = `Ada${id.replace(/[^a-z0-9]/gi, '').slice(-8)}`;
    await p.produce([{ key: id, value: JSON.stringify(hrEvent(id, { data: { givenName } })) }]);
    const handle = client.workflow.getHandle(identityWorkflowId(id));
    await eventually(`${id} provisioned`, async () => ((await handle.query(getState).catch(() => undefined))?.status === 'provisioned' ? true : undefined));
    const { runId } = await handle.describe();

    // Sealed in the history: the signal's payload names the codec's encoding, not the person.
    const history = await connection.workflowService.getWorkflowExecutionHistory({ namespace: p.cfg.temporal.namespace, execution: { workflowId: handle.workflowId, runId } });
    const signal = history.history!.events!.find((e) => e.workflowExecutionSignaledEventAttributes)!.workflowExecutionSignaledEventAttributes!.input!.payloads![0]!;
    expect(Buffer.from(signal.metadata!.encoding!).toString()).toBe(ENCRYPTED_ENCODING);
    expect(Buffer.from(signal.data!).includes(Buffer.from(givenName))).toBe(false);

    const page = await browser.newPage();
    try {
      const decodes: number[] = [];
      page.on('response', (res) => void (res.url() === `${api.url}/codec/decode` && res.request().method() === 'POST' && decodes.push(res.status())));
      await page.goto(`${uiUrl}/namespaces/${p.cfg.temporal.namespace}/workflows/${encodeURIComponent(handle.workflowId)}/${runId}/history`);
      // The workflow's input, decoded: its field name is in the sealed payload only.
      await page.getByText(`"employeeId": "${id}"`).first().waitFor({ timeout: 60_000 });
      // The HR event of its signal, opened in the event history: the person's name in clear.
      await page.getByText('Workflow Execution Signaled').first().click();
      await page.getByText(`"givenName": "${givenName}"`).first().waitFor({ timeout: 30_000 });
      // A query from the Queries tab: its answer decoded too (the UI encodes nothing for no argument).
      await page.getByRole('tab', { name: 'Queries' }).click();
      await page.getByTestId('query-select-button').click();
      await page.getByRole('option', { name: 'getState' }).first().click();
      await page.getByRole('button', { name: 'Run Query' }).click();
      await page.getByText('"status": "provisioned"').first().waitFor({ timeout: 30_000 });
      expect(decodes.length).toBeGreaterThan(0);
      expect(decodes.every((s) => s === 200)).toBe(true);
      // Undecoded, the UI shows the payload as { metadata: { encoding: <base64 of binary/sealed> }, data }.
      for (const sealed of [ENCRYPTED_ENCODING, Buffer.from(ENCRYPTED_ENCODING).toString('base64')]) expect(await page.getByText(sealed).count()).toBe(0);
    } finally {
      await page.close();
    }
  });
});

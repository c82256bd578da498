// The fence's memo lists the held requests for the Temporal UI and `temporal workflow describe`,
// sealed by the payload codec in Temporal (the worker encodes memo fields like every payload) and
// read in clear through the API's codec endpoint. On the real stack, with the real temporal CLI.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken, type JwtSettings } from '../../api/auth.js';
import { startApi, type ApiServer } from '../../api/server.js';
import { askFencePermit } from '../../clients/fence.js';
import { connectTemporal } from '../../clients/temporal-connection.js';
import { dataConverter } from '../../codec/data-converter.js';
import { ENCRYPTED_ENCODING } from '../../codec/encryption-codec.js';
import type { FenceMemo } from '../../workflows/fence-logic.js';
import { fenceWorkflowId, scopeKey, type PermitRequest } from '../../workflows/fence-messages.js';
import { which } from '../../stack/shell.js';
import { logger, startPipeline, type Pipeline } from '../helpers/pipeline.js';
import { uniqueName } from '../helpers/unique.js';

const execFileAsync = promisify(execFile);
const jwt: JwtSettings = { secret: new TextEncoder().encode(`fence-memo-secret-${uniqueName('s')}-0123456789abcdef`), issuer: 'provisioner', audience: 'provisioner-api' };

let p: Pipeline;
let connection: Connection;
let client: Client;
let api: ApiServer;
beforeAll(async () => {
  p = await startPipeline({ appNames: ['chat'] });
  connection = await connectTemporal(p.cfg);
  client = new Client({ connection, namespace: p.cfg.temporal.namespace, dataConverter: dataConverter(p.cfg.dataDir) });
  api = await startApi({ cfg: p.cfg, logger, client, store: p.store, port: 0, jwt });
});
afterAll(async () => {
  await api?.close();
  await connection?.close();
  await p?.close();
});

/** A leaver's disable in chat, over a limit of 0: the fence holds it. */
const leaver = (employeeId: string): PermitRequest => ({
  requestId: `identity/${employeeId}/change-1`,
  workflowId: `identity/${employeeId}`,
  employeeId,
  source: 'urn:hris:test',
  steps: [{ key: 'disableAccount/chat', app: 'chat', action: 'disableAccount' }],
  limits: { [scopeKey('app', 'chat', 'disableAccount')]: 0 },
  windowMs: 600_000,
  releasesRequired: 2,
});

/** The protobuf JSON of a payload, as the codec endpoint and `temporal ... -o json` carry it. */
type JsonPayload = { metadata: Record<string, string>; data: string };
const toJson = (payload: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v!).toString('base64')])),
  data: Buffer.from(payload.data ?? new Uint8Array()).toString('base64'),
});
const fromJson = (payload: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(payload.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(payload.data, 'base64'),
});
const encodingOf = (payload: JsonPayload) => Buffer.from(payload.metadata.encoding ?? '', 'base64').toString();

describe("the fence's memo", () => {
  it('lists the held requests sealed in Temporal and in clear through the codec endpoint and the temporal CLI', async () => {
    const ids = [uniqueName('E').replaceAll('.', ''), uniqueName('E').replaceAll('.', '')];
    const workflowId = fenceWorkflowId(p.taskQueue);
    for (const id of ids) {
      expect(await askFencePermit(client, { fenceWorkflowId: workflowId, taskQueue: p.taskQueue, request: leaver(id) })).toMatchObject({ permit: 'held' });
    }

    // In Temporal: the memo's fields and every memo upsert in the history are sealed, and name nobody.
    const { workflowExecutionInfo } = await connection.workflowService.describeWorkflowExecution({ namespace: p.cfg.temporal.namespace, execution: { workflowId } });
    const held = workflowExecutionInfo!.memo!.fields!.held!;
    const { history } = await connection.workflowService.getWorkflowExecutionHistory({ namespace: p.cfg.temporal.namespace, execution: { workflowId } });
    const upserts = history!.events!.flatMap((e) => Object.values(e.workflowPropertiesModifiedEventAttributes?.upsertedMemo?.fields ?? {}));
    expect(upserts.length).toBeGreaterThan(0);
    for (const payload of [held, ...upserts]) {
      expect(Buffer.from(payload.metadata!.encoding!).toString()).toBe(ENCRYPTED_ENCODING);
      for (const id of ids) expect(Buffer.from(payload.data!).includes(Buffer.from(id))).toBe(false);
    }

    // Through the codec endpoint (as the Temporal UI's Memo tab asks): the held requests in clear.
    const auditor = await mintToken(jwt, { sub: 'E-fence-memo-auditor', roles: ['auditor'], ttl: '10m' });
    const res = await fetch(`${api.url}/codec/decode`, {
      method: 'POST',
      headers: { authorization: `Bearer ${auditor}`, 'content-type': 'application/json', 'x-namespace': p.cfg.temporal.namespace },
      body: JSON.stringify({ payloads: [toJson(held)] }),
    });
    expect(res.status).toBe(200);
    const decoded = defaultPayloadConverter.fromPayload<FenceMemo['held']>(fromJson(((await res.json()) as { payloads: JsonPayload[] }).payloads[0]!));
    expect(decoded).toEqual({ requests: 2, notListed: 0, listed: ids.map((employeeId) => ({ employeeId, batchId: 'batch-1', heldAt: expect.any(String), steps: ['disableAccount chat'] })) });

    // The temporal CLI: `workflow describe` with the endpoint shows the memo decoded, without it sealed.
    const cli = which('temporal') ?? path.join(p.cfg.cacheDir, 'bin', 'temporal');
    const at = ['--address', p.cfg.temporal.address, '--namespace', p.cfg.temporal.namespace];
    const memoOf = async (args: string[]) => {
      const out = await execFileAsync(cli, ['workflow', 'describe', '--workflow-id', workflowId, '-o', 'json', ...at, ...args]);
      return (JSON.parse(out.stdout) as { workflowExecutionInfo: { memo: { fields: Record<string, unknown> } } }).workflowExecutionInfo.memo.fields;
    };
    const operator = await mintToken(jwt, { sub: 'E-fence-memo-operator', roles: ['operator'], ttl: '10m' });
    // Decoded JSON payloads are printed as their values.
    const clear = await memoOf(['--codec-endpoint', `${api.url}/codec`, '--codec-auth', `Bearer ${operator}`]);
    expect(clear).toEqual({ openBatches: ['batch-1'], held: decoded });
    // Without the endpoint: each field is a sealed payload's protobuf JSON.
    const sealed = (await memoOf([])) as Record<string, JsonPayload>;
    expect(Object.keys(sealed).sort()).toEqual(['held', 'openBatches']);
    for (const payload of Object.values(sealed)) {
      expect(encodingOf(payload)).toBe(ENCRYPTED_ENCODING);
      for (const id of ids) expect(Buffer.from(payload.data, 'base64').includes(Buffer.from(id))).toBe(false);
    }
  });
});

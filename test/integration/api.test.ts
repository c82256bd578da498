// The HTTP API on the real stack: authentication and authorisation (every refusal audited), the
// Temporal UI's remote codec (with its CORS preflight), and a real identity workflow's state; no
// token ever reaches the log or the audit trail.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken, type ApiRole, type JwtSettings } from '../../api/auth.js';
import { startApi, type ApiServer } from '../../api/server.js';
import { queryAudit } from '../../store/index.js';
import { dataConverter } from '../../codec/data-converter.js';
import { EncryptionCodec } from '../../codec/encryption-codec.js';
import { loadKeyring } from '../../codec/keyring.js';
import { createLogger } from '../../observability/logger.js';
import { getState, identityWorkflowId } from '../../workflows/messages.js';
import { hrEvent } from '../helpers/hr-events.js';
import { eventually, startPipeline, type Pipeline } from '../helpers/pipeline.js';
import { uniqueName } from '../helpers/unique.js';
import { connectTemporal } from '../../clients/temporal-connection.js';
import { which } from '../../stack/shell.js';

const execFileAsync = promisify(execFile);

const lines: string[] = [];
const memory = new Writable({
  write(chunk: Buffer, _encoding, done) {
    lines.push(chunk.toString('utf8'));
    done();
  },
});

const jwt: JwtSettings = { secret: new TextEncoder().encode(`api-test-secret-${uniqueName('s')}-0123456789abcdef`), issuer: 'provisioner', audience: 'provisioner-api' };
const UI = 'http://127.0.0.1:8233';
const minted: string[] = [];
const token = async (roles: ApiRole[], sub = 'E-api-caller') => {
  const t = await mintToken(jwt, { sub, roles, ttl: '10m' });
  minted.push(t);
  return t;
};

let p: Pipeline;
let connection: Connection;
let api: ApiServer;
let noStoreApi: ApiServer;
beforeAll(async () => {
  p = await startPipeline({ appNames: ['chat'] });
  connection = await connectTemporal(p.cfg);
  const client = new Client({ connection, namespace: p.cfg.temporal.namespace, dataConverter: dataConverter(p.cfg.dataDir) });
  const logger = createLogger({ level: 'trace', name: 'api-test', destination: memory });
  api = await startApi({ cfg: p.cfg, logger, client, store: p.store, port: 0, jwt, corsOrigins: [UI] });
  noStoreApi = await startApi({ cfg: p.cfg, logger, client, port: 0, jwt, corsOrigins: [UI], queryTimeoutMs: 2_000 });
});
afterAll(async () => {
  await api?.close();
  await noStoreApi?.close();
  await connection?.close();
  await p?.close();
});

const call = (path: string, init: { method?: string; token?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
  fetch(`${api.url}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: {
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...init.headers,
    },
    ...(init.body === undefined ? {} : { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }),
  });

const apiRefusals = async () =>
  (await queryAudit(p.store.pool, p.store.keys.kek, { actor: 'service:api', limit: 1000 })).filter((r) => r.action === 'api.refused');

const toJson = (p: Payload) => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v!).toString('base64')])),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});
const fromJson = (p: { metadata: Record<string, string>; data: string }): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data, 'base64'),
});

describe('health and readiness', () => {
  it('answer without a token; readiness checks Temporal and PostgreSQL', async () => {
    expect(await (await call('/health')).json()).toEqual({ status: 'ok', process: 'api' });
    const ready = await call('/ready');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { temporal: true, postgres: true } });
    const bare = await fetch(`${noStoreApi.url}/ready`);
    expect(await bare.json()).toEqual({ status: 'ready', process: 'api', checks: { temporal: true } });
  });
});

describe('authentication and authorisation', () => {
  it('401 without a token, with a malformed header, a bad signature or an expired token, with a reason', async () => {
    const none = await call('/identities/E1');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect(await none.json()).toMatchObject({ reason: 'missing-token' });
    expect(await (await call('/identities/E1', { headers: { authorization: 'Basic dXNlcjpwYXNz' } })).json()).toMatchObject({ reason: 'malformed-authorization' });

    const forged = await mintToken({ ...jwt, secret: new TextEncoder().encode('not-the-api-secret-but-long-enough!!') }, { sub: 'E1', roles: ['admin'] });
    minted.push(forged);
    const bad = await call('/identities/E1', { token: forged });
    expect(bad.status).toBe(401);
    const badBody = await bad.text();
    expect(JSON.parse(badBody)).toMatchObject({ reason: 'invalid-token' });
    expect(badBody).not.toContain(forged);

    const past = Math.floor(Date.now() / 1000) - 600;
    const expired = await new SignJWT({ roles: ['admin'] }).setProtectedHeader({ alg: 'HS256' }).setSubject('E1').setIssuer(jwt.issuer)
      .setAudience(jwt.audience).setIssuedAt(past - 60).setExpirationTime(past).sign(jwt.secret);
    minted.push(expired);
    const old = await call('/codec/decode', { token: expired, body: { payloads: [] } });
    expect(old.status).toBe(401);
    expect(await old.json()).toMatchObject({ reason: 'expired-token' });

    // Unknown routes need a token too.
    expect((await call('/admin/secrets')).status).toBe(401);
    expect((await call('/admin/secrets', { token: await token(['admin']) })).status).toBe(404);

    // Each refusal is audited by the API: the route and the kind, never the token (nor a path it does not serve).
    const refused = await apiRefusals();
    expect(refused.map((r) => r.reason)).toEqual(
      expect.arrayContaining([
        'GET /identities/:employeeId: 401 missing-token',
        'GET /identities/:employeeId: 401 malformed-authorization',
        'GET /identities/:employeeId: 401 invalid-token',
        'POST /codec/decode: 401 expired-token',
        'GET (a path the API does not serve): 401 missing-token',
      ]),
    );
    for (const t of [forged, expired]) expect(JSON.stringify(refused)).not.toContain(t.split('.')[2]!);
    expect(JSON.stringify(refused)).not.toContain('secrets');
  });

  it('403 for a role the route does not allow', async () => {
    const approver = await token(['approver']);
    const refused = await call('/identities/E1', { token: approver });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ reason: 'role-not-allowed', requiredRoles: ['operator', 'auditor', 'admin'] });
    expect((await call('/codec/decode', { token: approver, body: { payloads: [] } })).status).toBe(403);
    // An auditor may decode (read) but not encode.
    const auditor = await token(['auditor']);
    expect((await call('/codec/decode', { token: auditor, body: { payloads: [] } })).status).toBe(200);
    expect((await call('/codec/encode', { token: auditor, body: { payloads: [] } })).status).toBe(403);
    // Audited, with the caller as the record's subject.
    const audited = await queryAudit(p.store.pool, p.store.keys.kek, { employeeId: 'E-api-caller', limit: 1000 });
    expect(audited.filter((r) => r.action === 'api.refused').map((r) => r.reason)).toEqual(
      expect.arrayContaining([
        "GET /identities/:employeeId: 403 role-not-allowed (caller's roles: approver; allowed: operator, auditor, admin)",
        "POST /codec/encode: 403 role-not-allowed (caller's roles: auditor; allowed: operator, admin)",
      ]),
    );
  });

  it('validates input: bad JSON, a bad body, a bad employee id, a foreign namespace', async () => {
    const operator = await token(['operator']);
    const badJson = await call('/codec/decode', { token: operator, body: '{"payloads": [' });
    expect(badJson.status).toBe(400);
    expect(await badJson.json()).toMatchObject({ reason: 'invalid-json' });
    const badBody = await call('/codec/decode', { token: operator, body: { payloads: [{ data: 'not base64!' }] } });
    expect(badBody.status).toBe(400);
    expect(await badBody.json()).toMatchObject({ reason: 'invalid-body' });
    const badId = await call(`/identities/${encodeURIComponent('E1" or 1=1')}`, { token: operator });
    expect(badId.status).toBe(400);
    expect(await badId.json()).toMatchObject({ reason: 'invalid-employee-id' });
    const foreign = await call('/codec/decode', { token: operator, body: { payloads: [] }, headers: { 'x-namespace': 'someone-elses' } });
    expect(foreign.status).toBe(400);
    expect(await foreign.json()).toMatchObject({ reason: 'unknown-namespace' });
  });
});

describe('the remote codec for the Temporal UI', () => {
  const clear = defaultPayloadConverter.toPayload({ givenName: 'Ada', email: 'ada@example.com' });

  it('encodes and decodes over HTTP exactly as the in-process codec does', async () => {
    const inProcess = new EncryptionCodec(loadKeyring({ dataDir: p.cfg.dataDir }));
    const operator = await token(['operator']);
    const headers = { 'x-namespace': p.cfg.temporal.namespace, origin: UI };

    const encoded = await call('/codec/encode', { token: operator, body: { payloads: [toJson(clear)] }, headers });
    expect(encoded.status).toBe(200);
    expect(encoded.headers.get('access-control-allow-origin')).toBe(UI);
    expect(encoded.headers.get('access-control-allow-credentials')).toBe('true');
    const sealed = fromJson(((await encoded.json()) as any).payloads[0]);
    expect(Buffer.from(sealed.data!).toString('latin1')).not.toContain('ada@example.com');
    expect(defaultPayloadConverter.fromPayload((await inProcess.decode([sealed]))[0]!)).toEqual({ givenName: 'Ada', email: 'ada@example.com' });

    const [sealedHere] = await inProcess.encode([clear]);
    const decoded = await call('/codec/decode', { token: operator, body: { payloads: [toJson(sealedHere!), toJson(clear)] }, headers });
    expect(decoded.status).toBe(200);
    const body = (await decoded.json()) as { payloads: Array<{ metadata: Record<string, string>; data: string }> };
    // Byte for byte what the in-process codec answers; a clear payload passes through.
    expect(body.payloads).toEqual((await inProcess.decode([sealedHere!, clear])).map(toJson));
    expect(defaultPayloadConverter.fromPayload(fromJson(body.payloads[0]!))).toEqual({ givenName: 'Ada', email: 'ada@example.com' });
  });

  it('refuses a tampered payload with 422, naming no secret', async () => {
    const [sealed] = await new EncryptionCodec(loadKeyring({ dataDir: p.cfg.dataDir })).encode([clear]);
    const data = Buffer.from(sealed!.data!);
    data[data.length - 1] = data[data.length - 1]! ^ 0xff;
    const res = await call('/codec/decode', { token: await token(['admin']), body: { payloads: [toJson({ ...sealed!, data })] } });
    expect(res.status).toBe(422);
    expect(await res.json()).toMatchObject({ reason: 'cannot-decode' });
  });

  it('answers the CORS preflight for the UI origin without a token, and refuses other origins', async () => {
    const preflight = await call('/codec/decode', {
      method: 'OPTIONS',
      headers: { origin: UI, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,x-namespace' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(UI);
    expect(preflight.headers.get('access-control-allow-credentials')).toBe('true');
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
    const allowed = (preflight.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(/,\s*/);
    expect(allowed).toEqual(expect.arrayContaining(['authorization', 'content-type', 'x-namespace']));
    expect(preflight.headers.get('vary')).toMatch(/Origin/i);

    const evil = await call('/codec/decode', { method: 'OPTIONS', headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' } });
    expect(evil.status).toBe(403);
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    const evilPost = await call('/codec/decode', { token: await token(['operator']), body: { payloads: [] }, headers: { origin: 'http://evil.example' } });
    expect(evilPost.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe("the local Temporal UI in development mode", () => {
  it('decodes without a token from the allowed loopback UI origin only, and only decodes', async () => {
    expect(p.cfg.mode).toBe('development');
    const [codec] = dataConverter(p.cfg.dataDir).payloadCodecs!;
    const [sealed] = await codec!.encode([defaultPayloadConverter.toPayload({ familyName: 'Lovelace' })]);
    const body = { payloads: [toJson(sealed!)] };
    const fromUi = await call('/codec/decode', { body, headers: { origin: UI } });
    expect(fromUi.status).toBe(200);
    expect(defaultPayloadConverter.fromPayload(fromJson(((await fromUi.json()) as any).payloads[0]))).toEqual({ familyName: 'Lovelace' });
    expect(fromUi.headers.get('access-control-allow-origin')).toBe(UI);
    // Any other origin, no origin, or encoding still needs a token.
    expect((await call('/codec/decode', { body, headers: { origin: 'http://evil.example' } })).status).toBe(401);
    expect((await call('/codec/decode', { body })).status).toBe(401);
    expect((await call('/codec/encode', { body: { payloads: [] }, headers: { origin: UI } })).status).toBe(401);
    // A token that is there is checked as ever.
    expect((await call('/codec/decode', { body, token: 'not-a-token', headers: { origin: UI } })).status).toBe(401);
  });

  it('in production mode the same request needs a token', async () => {
    const prod = await startApi({ cfg: { ...p.cfg, mode: 'production' }, logger: createLogger({ level: 'silent', name: 'api-test' }), client: p.ingress.client, port: 0, jwt, corsOrigins: [UI], codec: new EncryptionCodec(loadKeyring({ dataDir: p.cfg.dataDir })) });
    try {
      const res = await fetch(`${prod.url}/codec/decode`, { method: 'POST', headers: { origin: UI, 'content-type': 'application/json' }, body: JSON.stringify({ payloads: [] }) });
      expect(res.status).toBe(401);
    } finally {
      await prod.close();
    }
  });
});

describe('identity state', () => {
  it('returns a real identity workflow’s getState and its recent outcomes; decodes its history for the UI', async () => {
    const id = uniqueName('E').replaceAll('.', '');
    await p.produce([{ key: id, value: JSON.stringify(hrEvent(id)) }]);
    const handle = p.ingress.client.workflow.getHandle(identityWorkflowId(id));
    await eventually(`${id} provisioned`, async () => {
      const s = await handle.query(getState).catch(() => undefined);
      return s?.status === 'provisioned' ? s : undefined;
    });
    const auditor = await token(['auditor']);
    const body = await eventually('the outcome recorded in the store', async () => {
      const res = await call(`/identities/${id}`, { token: auditor });
      expect(res.status).toBe(200);
      const json = (await res.json()) as any;
      return json.recentOutcomes?.length > 0 ? json : undefined;
    });
    expect(body).toMatchObject({ employeeId: id, workflowId: identityWorkflowId(id), state: { employeeId: id, status: 'provisioned', lastAppliedSequence: 1 } });
    expect(body.state.accounts.chat.accountId).toEqual(expect.any(String));
    expect(body.recentOutcomes[0]).toMatchObject({ eventType: 'hr.worker.hired', status: 'succeeded', sequence: 1 });
    expect(body.state).toEqual(await handle.query(getState));

    // Without a store: the state only.
    const bare = await fetch(`${noStoreApi.url}/identities/${id}`, { headers: { authorization: `Bearer ${auditor}` } });
    const bareBody = (await bare.json()) as Record<string, unknown>;
    expect(bareBody).toMatchObject({ employeeId: id, state: { status: 'provisioned' } });
    expect(bareBody).not.toHaveProperty('recentOutcomes');

    // What the UI does: the encrypted signal payload in the history decodes through the endpoint.
    const history = await handle.fetchHistory();
    const signal = history.events!.find((e) => e.workflowExecutionSignaledEventAttributes)!.workflowExecutionSignaledEventAttributes!.input!.payloads![0]!;
    expect(Buffer.from(signal.data!).includes(Buffer.from('Lovelace'))).toBe(false);
    const res = await call('/codec/decode', { token: auditor, body: { payloads: [toJson(signal as Payload)] }, headers: { 'x-namespace': p.cfg.temporal.namespace } });
    const decoded = fromJson(((await res.json()) as any).payloads[0]);
    expect(defaultPayloadConverter.fromPayload<any>(decoded).snapshot).toMatchObject({ employeeId: id, familyName: 'Lovelace' });
  });

  it('the temporal CLI reads a query and the history decoded through the endpoint (`--codec-endpoint`, `--codec-auth`)', async () => {
    const id = uniqueName('E').replaceAll('.', '');
    await p.produce([{ key: id, value: JSON.stringify(hrEvent(id)) }]);
    const handle = p.ingress.client.workflow.getHandle(identityWorkflowId(id));
    await eventually(`${id} provisioned`, async () => ((await handle.query(getState).catch(() => undefined))?.status === 'provisioned' ? true : undefined));
    const cli = which('temporal') ?? path.join(p.cfg.cacheDir, 'bin', 'temporal');
    // A query encodes its (absent) arguments first, so the CLI needs an operator's token.
    const codec = ['--address', p.cfg.temporal.address, '--namespace', p.cfg.temporal.namespace, '--codec-endpoint', `${api.url}/codec`, '--codec-auth', `Bearer ${await token(['operator'])}`];
    const query = await execFileAsync(cli, ['workflow', 'query', '--workflow-id', identityWorkflowId(id), '--type', 'getState', '-o', 'json', ...codec]);
    expect(JSON.parse(query.stdout)).toMatchObject({ queryResult: [{ employeeId: id, status: 'provisioned' }] });
    // `workflow show -o json` prints each payload as protobuf JSON: its encoding and its data in base64.
    const signalPayload = (stdout: string) => {
      const events = (JSON.parse(stdout) as { events: Array<{ workflowExecutionSignaledEventAttributes?: { input: { payloads: Array<{ metadata: Record<string, string>; data: string }> } } }> }).events;
      const payload = events.find((e) => e.workflowExecutionSignaledEventAttributes)!.workflowExecutionSignaledEventAttributes!.input.payloads[0]!;
      return { encoding: Buffer.from(payload.metadata.encoding!, 'base64').toString(), data: Buffer.from(payload.data, 'base64') };
    };
    const decoded = signalPayload((await execFileAsync(cli, ['workflow', 'show', '--workflow-id', identityWorkflowId(id), '-o', 'json', ...codec])).stdout);
    expect(decoded.encoding).toBe('json/plain');
    expect(JSON.parse(decoded.data.toString())).toMatchObject({ snapshot: { employeeId: id, familyName: 'Lovelace' } });
    // Without the endpoint, the same history is ciphertext.
    const sealed = signalPayload((await execFileAsync(cli, ['workflow', 'show', '--workflow-id', identityWorkflowId(id), '-o', 'json', '--address', p.cfg.temporal.address, '--namespace', p.cfg.temporal.namespace])).stdout);
    expect(sealed.encoding).toBe('binary/sealed');
    expect(sealed.data.includes(Buffer.from('Lovelace'))).toBe(false);
  });

  it('504 when no worker answers the query in time', async () => {
    const id = uniqueName('E').replaceAll('.', '');
    // An identity workflow on a task queue no worker polls.
    const handle = await p.ingress.client.workflow.start('identityLifecycle', { taskQueue: uniqueName('no-worker'), workflowId: identityWorkflowId(id), args: [{ employeeId: id }] });
    try {
      const res = await fetch(`${noStoreApi.url}/identities/${id}`, { headers: { authorization: `Bearer ${await token(['operator'])}` } });
      expect(res.status).toBe(504);
      expect(await res.json()).toMatchObject({ reason: 'query-timeout' });
    } finally {
      await handle.terminate('test finished');
    }
  });

  it('404 for a person without an identity workflow', async () => {
    const res = await call(`/identities/${uniqueName('NOBODY').replaceAll('.', '')}`, { token: await token(['operator']) });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ reason: 'identity-not-found' });
  });
});

describe('the fence through the API', () => {
  it('lists the fence for operators and auditors, not for approvers', async () => {
    expect((await call('/fence', { token: await token(['auditor']) })).status).toBe(200);
    expect((await call('/fence', { token: await token(['approver']) })).status).toBe(403);
  });

  it('a refused release is answered 409 and audited with the authenticated caller as the actor', async () => {
    const res = await call('/fence/batches/no-such-batch/release', { method: 'POST', token: await token(['operator'], 'E-fence-op') });
    expect(res.status).toBe(409);
    expect(((await res.json()) as { reason: string }).reason).toBe('fence-refused');
    const audit = await queryAudit(p.store.pool, p.store.keys.kek, { actor: 'E-fence-op' });
    expect(audit.map((r) => r.action)).toContain('fence.refused');
    expect((await call('/fence/batches/no-such-batch/reject', { method: 'POST', token: await token(['auditor']) })).status).toBe(403);
  });

  it('a person that is not an employee id is answered 400 with what an employee id is, and nothing is decided or audited', async () => {
    const operator = await token(['operator'], 'E-fence-bad-person');
    for (const query of ['person=not%20an%20id', 'person=%2Fetc%2Fpasswd', `person=${'E'.repeat(65)}`, 'person=E1&person=E2', 'person=E1&request=identity%2FE1%2Fev-1', 'request=']) {
      const res = await call(`/fence/batches/batch-1/release?${query}`, { method: 'POST', token: operator });
      expect(res.status, query).toBe(400);
      const body = (await res.json()) as { reason: string; error: string };
      expect(body.reason, query).toBe('invalid-person');
    }
    const res = await call('/fence/batches/batch-1/reject?person=not%20an%20id', { method: 'POST', token: operator });
    expect(((await res.json()) as { error: string }).error).toMatch(/employee id is 1-64 letters, digits/);
    expect(await queryAudit(p.store.pool, p.store.keys.kek, { actor: 'E-fence-bad-person' })).toEqual([]);
  });
});

describe('the API log', () => {
  it('has a line per request and contains no token', () => {
    const log = lines.join('');
    expect(lines.length).toBeGreaterThan(10);
    expect(log).toContain('"api request"');
    expect(log).toContain('"api authentication refused"');
    expect(minted.length).toBeGreaterThan(5);
    for (const t of minted) {
      expect(log.includes(t), 'a token in the log').toBe(false);
      expect(log.includes(t.split('.')[2]!), 'a token signature in the log').toBe(false);
    }
    expect(log.includes(Buffer.from(jwt.secret).toString())).toBe(false);
  });
});

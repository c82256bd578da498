// The API against a real OpenID provider (the development IdP, stack/dev-idp/, as its own process;
// people sign in through the device flow as they would in a browser) on the real stack: an
// approver's token decides an approval as that person; a token signed by another key, for another
// audience, expired, or without a role is refused and audited; one operator cannot release a
// two-person fence batch alone, whatever their token or the letter case of their id; and in
// production mode the codec endpoint decodes only for the provider's operators and auditors, which
// the real `temporal` CLI uses to show a decoded input.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { decodeJwt, decodeProtectedHeader, generateKeyPair, importJWK, SignJWT, type JWK, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../api/auth.js';
import { startApi, type ApiServer } from '../../api/server.js';
import { apiVerifier, type ApiVerifier } from '../../api/verifier.js';
import { EncryptionCodec } from '../../codec/encryption-codec.js';
import { loadKeyring } from '../../codec/keyring.js';
import { createLogger } from '../../observability/logger.js';
import { loadConfig, type Config } from '../../schemas/config.js';
import { which } from '../../stack/shell.js';
import { askFencePermit, queryAudit } from '../../store/index.js';
import { accessRequestWorkflowId, getApprovals, type AccessRequestInput } from '../../workflows/approval-messages.js';
import { fenceWorkflowId, scopeKey } from '../../workflows/fence-messages.js';
import { getState, identityWorkflowId } from '../../workflows/messages.js';
import { EmployeeId, TicketId } from '../../workflows/search-attributes.js';
import { hrEvent } from '../helpers/hr-events.js';
import { startIdp, type TestIdp } from '../helpers/idp.js';
import { eventually, startPipeline, type Pipeline } from '../helpers/pipeline.js';
import { writeChatPolicy } from '../helpers/policy-yaml.js';
import { uniqueName } from '../helpers/unique.js';

const execFileAsync = promisify(execFile);

// The run's own people at the IdP (the development IdP's file format), so ids never meet another test's.
const person = (prefix: string) => uniqueName(prefix).replaceAll('.', '');
const APPROVER = person('Eapp');
const OP1 = person('Eop');
const OP2 = person('Eop');
const AUDITOR = person('Eaud');
const NOBODY = person('Enob');
const BENEFICIARY = person('Eben');
const PASSWORD = 'dev-test-password';

function writePeople(): string {
  const groups: Array<[string, string[]]> = [[APPROVER, ['provisioner-approvers']], [OP1, ['provisioner-operators']], [OP2, ['provisioner-operators']], [AUDITOR, ['provisioner-auditors']], [NOBODY, ['everyone']]];
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'oidc-people-')), 'people.yaml');
  writeFileSync(file, `people:\n${groups.map(([id, g]) => `  - { employeeId: ${id}, name: Test ${id}, email: ${id.toLowerCase()}@example.com, password: ${PASSWORD}, groups: [${g.join(', ')}] }`).join('\n')}\n`);
  return file;
}

const ROLE_MAP = JSON.stringify({ 'provisioner-approvers': ['approver'], 'provisioner-operators': ['operator'], 'provisioner-auditors': ['auditor'] });
/** api.oidc for an IdP, through the configuration as a deployment would set it. */
const oidcFor = (issuer: string, extra: Record<string, string> = {}) =>
  loadConfig({ env: { PROVISIONER_OIDC_ISSUER: issuer, PROVISIONER_OIDC_AUDIENCE: 'provisioner-api', PROVISIONER_OIDC_ROLE_MAP: ROLE_MAP, ...extra } }).api.oidc!;

/** The short-lived IdP's token lifetime: long enough to be used once on a busy machine, short enough to wait out. */
const SHORT_TTL_SECONDS = 5;

const logLines: string[] = [];
const logger = createLogger({ level: 'info', name: 'oidc-api-test', destination: new Writable({ write: (chunk: Buffer, _e, done) => (logLines.push(chunk.toString()), done()) }) });

let idp: TestIdp;
let shortIdp: TestIdp;
let p: Pipeline;
const servers: ApiServer[] = [];
const verifiers: ApiVerifier[] = [];
let api: ApiServer;

/** An API over the pipeline verifying tokens of this configuration (its own port, the pipeline's store). */
async function startApiFor(cfg: Config): Promise<ApiServer> {
  const verifier = apiVerifier(cfg, logger);
  verifiers.push(verifier);
  const server = await startApi({ cfg, logger, client: p.ingress.client, store: p.store, port: 0, verify: verifier.verify, corsOrigins: [], codec: new EncryptionCodec(loadKeyring({ dataDir: p.cfg.dataDir })) });
  servers.push(server);
  return server;
}

beforeAll(async () => {
  const peopleFile = writePeople();
  [idp, shortIdp, p] = await Promise.all([
    startIdp({ peopleFile }),
    startIdp({ peopleFile, accessTokenTtlSeconds: SHORT_TTL_SECONDS }),
    startPipeline({ appNames: ['chat'], policyDir: writeChatPolicy({ name: 'oidc', owner: APPROVER, lifecycle: '{ moverGracePeriod: PT5S, leaverDeletionDelay: PT30S, personalDataRetention: P2Y, onLeave: keep }', ownerApproval: true }) }),
  ]);
  api = await startApiFor({ ...p.cfg, api: { ...p.cfg.api, oidc: oidcFor(idp.issuer) } });
}, 240_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await Promise.all(verifiers.map((v) => v.close()));
  await p?.close();
  await Promise.all([idp?.stop(), shortIdp?.stop()]);
});

const call = (server: ApiServer, route: string, init: { token?: string; body?: unknown } = {}) =>
  fetch(`${server.url}${route}`, {
    method: init.body === undefined ? 'GET' : 'POST',
    headers: { ...(init.token ? { authorization: `Bearer ${init.token}` } : {}), ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
const answer = async (res: Response) => [res.status, ((await res.json()) as { reason?: string }).reason];
const tokenOf = (employeeId: string, options?: { audience?: string }) => idp.tokenFor(employeeId, PASSWORD, options);
const apiRefusals = async () => (await queryAudit(p.store.pool, p.store.keys.kek, { actor: 'service:api', limit: 1000 })).filter((r) => r.action === 'api.refused');

/** A token with the claims of `model` (a real one of the IdP) and `changes`, signed with `key` under the model's key id. */
async function resign(model: string, key: Parameters<SignJWT['sign']>[0], changes: JWTPayload): Promise<string> {
  const { kid, alg } = decodeProtectedHeader(model);
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ ...decodeJwt(model), iat: now, exp: now + 300, jti: uniqueName('jti'), ...changes }).setProtectedHeader({ alg: alg!, kid: kid!, typ: 'at+jwt' }).sign(key);
}

describe('an approval decided with a token from the identity provider', () => {
  it("is the approver's decision: the workflow records them as the person who approved, and the request is granted", async () => {
    await p.produce([APPROVER, BENEFICIARY].map((id) => ({ key: id, value: JSON.stringify(hrEvent(id, { data: { title: 'Engineer' } })) })));
    await eventually(`${BENEFICIARY} provisioned`, async () => {
      const state = await p.ingress.client.workflow.getHandle(identityWorkflowId(BENEFICIARY)).query(getState).catch(() => undefined);
      return state && state.lastAppliedSequence >= 1 && state.status !== 'provisioning' ? state : undefined;
    });
    const ticketId = person('CHG');
    const input: AccessRequestInput = {
      ticketId, requesterId: BENEFICIARY, beneficiaryId: BENEFICIARY, app: 'chat', entitlementId: 'war-room',
      justification: 'on call this week', eventId: `${ticketId}-requested`, source: 'urn:itsm:test', time: new Date().toISOString(),
    };
    const handle: WorkflowHandle = await p.ingress.client.workflow.start('accessRequest', {
      workflowId: accessRequestWorkflowId(ticketId), taskQueue: p.taskQueue, args: [input],
      typedSearchAttributes: [{ key: EmployeeId, value: BENEFICIARY }, { key: TicketId, value: ticketId }],
    });
    const approvalId = `req-${ticketId}.1.1`;
    await eventually(`${approvalId} pending`, async () => (await handle.query(getApprovals).catch(() => [])).find((v) => v.approvalId === approvalId && v.status === 'pending'));

    const token = await tokenOf(APPROVER);
    // The approver sees it as theirs to decide, and decides it.
    const mine = (await (await call(api, '/approvals', { token })).json()) as { approvals: Array<{ approvalId: string }> };
    expect(mine.approvals.map((a) => a.approvalId)).toContain(approvalId);
    const res = await call(api, `/approvals/${approvalId}/approve`, { token, body: { comment: 'ok' } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ decision: { approvalId, status: 'approved', gateStatus: 'approved' } });

    const views = await handle.query(getApprovals);
    expect(views.find((v) => v.approvalId === approvalId)!.votes).toEqual([expect.objectContaining({ approverId: APPROVER, decision: 'approved', channel: 'api' })]);
    expect((await handle.result()).status).toBe('granted');
    const approved = (await queryAudit(p.store.pool, p.store.keys.kek, { actor: APPROVER, limit: 100 })).filter((r) => r.action === 'approval.approved');
    expect(approved).toHaveLength(1);
  });
});

describe('tokens the API refuses', () => {
  it('another key, another audience, an expired token, no role: 401/403 with the reason, each audited, never the token', async () => {
    const real = await tokenOf(APPROVER);
    const { privateKey } = await generateKeyPair('RS256');
    const forged = await resign(real, privateKey, {});
    const otherAudience = await tokenOf(APPROVER, { audience: 'another-api' });
    const noRole = await tokenOf(NOBODY);
    const auditorOnly = await tokenOf(AUDITOR);

    expect(await answer(await call(api, '/approvals', { token: forged }))).toEqual([401, 'invalid-token']);
    expect(await answer(await call(api, '/approvals', { token: otherAudience }))).toEqual([401, 'wrong-audience']);
    expect(await answer(await call(api, '/fence', { token: noRole }))).toEqual([403, 'no-role']);
    expect(await answer(await call(api, '/fence/batches/batch-1/release', { token: auditorOnly, body: {} }))).toEqual([403, 'role-not-allowed']);
    // The approver's real token is accepted where its role allows.
    expect((await call(api, '/approvals', { token: real })).status).toBe(200);

    // Expired: the short-lived IdP's token, at an API that trusts that IdP with no clock tolerance.
    const shortApi = await startApiFor({ ...p.cfg, api: { ...p.cfg.api, oidc: oidcFor(shortIdp.issuer, { PROVISIONER_OIDC_CLOCK_TOLERANCE: '0' }) } });
    const shortLived = await shortIdp.tokenFor(OP1, PASSWORD);
    expect((await call(shortApi, '/fence', { token: shortLived })).status).toBe(200);
    const { exp } = decodeJwt(shortLived);
    await new Promise((r) => setTimeout(r, exp! * 1000 - Date.now() + 1_000));
    expect(await answer(await call(shortApi, '/fence', { token: shortLived }))).toEqual([401, 'expired-token']);
    // Another provider's token: signed with a key this API's provider does not publish.
    const otherIdp = await shortIdp.tokenFor(OP1, PASSWORD);
    expect(await answer(await call(api, '/fence', { token: otherIdp }))).toEqual([401, 'invalid-token']);

    const records = await apiRefusals();
    const reasons = records.map((r) => r.reason);
    for (const reason of [
      'GET /approvals: 401 invalid-token',
      'GET /approvals: 401 wrong-audience',
      'GET /fence: 401 expired-token',
      'GET /fence: 401 invalid-token',
    ]) {
      expect(reasons).toContain(reason);
    }
    expect(records.filter((r) => r.subjectEmployeeId === NOBODY).map((r) => r.reason)).toEqual(["GET /fence: 403 no-role (the identity provider's groups map to no provisioner role)"]);
    expect(records.filter((r) => r.subjectEmployeeId === AUDITOR).map((r) => r.reason)).toEqual([
      "POST /fence/batches/:batchId/release: 403 role-not-allowed (caller's roles: auditor; allowed: operator, admin)",
    ]);
    for (const t of [forged, otherAudience, noRole, shortLived, otherIdp]) expect(JSON.stringify(records)).not.toContain(t.split('.')[2]!);
    expect(logLines.join('')).not.toContain(forged.split('.')[2]!);
  });
});

describe('the fence’s two-person release with tokens from the identity provider', () => {
  it('one operator cannot release alone, with a second token or their id in another case; a second operator can', async () => {
    // A request held in a batch that needs two operators (the fence of the pipeline's task queue, in the store).
    const held = person('Eheld');
    const answerOfFence = await askFencePermit(p.store, {
      fenceId: fenceWorkflowId(p.taskQueue),
      budget: 'default',
      requestId: `${identityWorkflowId(held)}/1`, workflowId: identityWorkflowId(held), employeeId: held, source: 'urn:hris:test',
      steps: [{ key: 'disableAccount/chat', app: 'chat', action: 'disableAccount' }],
      limits: { [scopeKey('app', 'chat', 'disableAccount')]: 0 }, windowMs: 600_000, releasesRequired: 2,
    });
    expect(answerOfFence.permit).toBe('held');
    const batchId = (answerOfFence as { batchId: string }).batchId;
    const release = (token: string) => call(api, `/fence/batches/${batchId}/release`, { token, body: {} });

    const first = await tokenOf(OP1);
    const firstRes = await release(first);
    expect(firstRes.status).toBe(200);
    expect(await firstRes.json()).toMatchObject({ batch: { status: 'open', releasedBy: [OP1] } });
    // The same person signed in again: another token, the same subject.
    const again = await tokenOf(OP1);
    expect(again).not.toBe(first);
    const second = await release(again);
    expect(second.status).toBe(409);
    expect(((await second.json()) as { error: string }).error).toMatch(/already released/);
    // Their id in another letter case, in a token with the IdP's own signature (the development IdP
    // always writes the id as its people file does, so the test signs this one with the IdP's key).
    const idpKeys = JSON.parse(readFileSync(path.join(idp.dataDir, 'idp', 'jwks.json'), 'utf8')) as { keys: JWK[] };
    const rsa = idpKeys.keys.find((k) => k.kid === decodeProtectedHeader(first).kid)!;
    const lower = await resign(first, await importJWK(rsa, 'RS256'), { sub: OP1.toLowerCase(), employee_id: OP1.toLowerCase() });
    expect((await call(api, '/fence', { token: lower })).status).toBe(200);
    const inAnotherCase = await release(lower);
    expect(inAnotherCase.status).toBe(409);
    expect(((await inAnotherCase.json()) as { error: string }).error).toMatch(/already released/);

    const other = await release(await tokenOf(OP2));
    expect(other.status).toBe(200);
    expect(await other.json()).toMatchObject({ batch: { status: 'released', decidedBy: [OP1, OP2] } });
    const audit = await queryAudit(p.store.pool, p.store.keys.kek, { limit: 1000 });
    const fence = audit.filter((r) => r.action.startsWith('fence.') && r.reason.includes(batchId));
    expect(fence.map((r) => r.action).sort()).toEqual(['fence.permit.held', 'fence.refused', 'fence.refused', 'fence.release.recorded', 'fence.released']);
  });
});

describe('the codec endpoint in production mode, against the identity provider', () => {
  it('refuses no token, a wrong one and one without operator or auditor; the temporal CLI with an operator token shows the decoded input', async () => {
    const prodCfg: Config = { ...p.cfg, mode: 'production', api: { ...p.cfg.api, oidc: oidcFor(idp.issuer) } };
    const prod = await startApiFor(prodCfg);
    const employeeId = person('Ecodec');
    await p.produce([{ key: employeeId, value: JSON.stringify(hrEvent(employeeId)) }]);
    const handle = p.ingress.client.workflow.getHandle(identityWorkflowId(employeeId));
    await eventually(`${employeeId} provisioned`, async () => ((await handle.query(getState).catch(() => undefined))?.status === 'provisioned' ? true : undefined));
    const history = await handle.fetchHistory();
    const sealed = history.events!.find((e) => e.workflowExecutionSignaledEventAttributes)!.workflowExecutionSignaledEventAttributes!.input!.payloads![0]! as Payload;
    const body = { payloads: [{ metadata: Object.fromEntries(Object.entries(sealed.metadata!).map(([k, v]) => [k, Buffer.from(v!).toString('base64')])), data: Buffer.from(sealed.data!).toString('base64') }] };
    const decode = (token?: string) => call(prod, '/codec/decode', { ...(token ? { token } : {}), body });

    const devSecret = { secret: new TextEncoder().encode('a-development-secret-of-at-least-32-bytes'), issuer: 'provisioner', audience: 'provisioner-api' };
    expect(await answer(await decode())).toEqual([401, 'missing-token']);
    expect(await answer(await decode(await mintToken(devSecret, { sub: OP1, roles: ['operator'] })))).toEqual([401, 'development-token']);
    expect(await answer(await decode('not.a.token'))).toEqual([401, 'invalid-token']);
    expect(await answer(await decode(await tokenOf(APPROVER)))).toEqual([403, 'role-not-allowed']);
    expect(await answer(await decode(await tokenOf(NOBODY)))).toEqual([403, 'no-role']);
    const asAuditor = await decode(await tokenOf(AUDITOR));
    expect(asAuditor.status).toBe(200);
    const clear = ((await asAuditor.json()) as { payloads: Array<{ metadata: Record<string, string>; data: string }> }).payloads[0]!;
    const decoded = defaultPayloadConverter.fromPayload<{ snapshot: { employeeId: string } }>({
      metadata: Object.fromEntries(Object.entries(clear.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
      data: Buffer.from(clear.data, 'base64'),
    });
    expect(decoded.snapshot.employeeId).toBe(employeeId);

    // The real temporal CLI, with an operator's token from the IdP.
    const cli = which('temporal') ?? path.join(p.cfg.cacheDir, 'bin', 'temporal');
    const operator = await tokenOf(OP2);
    const codec = ['--address', p.cfg.temporal.address, '--namespace', p.cfg.temporal.namespace, '--codec-endpoint', `${prod.url}/codec`, '--codec-auth', `Bearer ${operator}`];
    const shown = JSON.parse((await execFileAsync(cli, ['workflow', 'show', '--workflow-id', identityWorkflowId(employeeId), '-o', 'json', ...codec])).stdout) as {
      events: Array<{ workflowExecutionSignaledEventAttributes?: { input: { payloads: Array<{ metadata: Record<string, string>; data: string }> } } }>;
    };
    const input = shown.events.find((e) => e.workflowExecutionSignaledEventAttributes)!.workflowExecutionSignaledEventAttributes!.input.payloads[0]!;
    expect(Buffer.from(input.metadata.encoding!, 'base64').toString()).toBe('json/plain');
    expect(JSON.parse(Buffer.from(input.data, 'base64').toString())).toMatchObject({ snapshot: { employeeId, familyName: 'Lovelace' } });
    const query = await execFileAsync(cli, ['workflow', 'query', '--workflow-id', identityWorkflowId(employeeId), '--type', 'getState', '-o', 'json', ...codec]);
    expect(JSON.parse(query.stdout)).toMatchObject({ queryResult: [{ employeeId, status: 'provisioned' }] });
    // The same CLI with an approver's token decodes nothing.
    const refused = await execFileAsync(cli, ['workflow', 'query', '--workflow-id', identityWorkflowId(employeeId), '--type', 'getState', '-o', 'json', ...codec.slice(0, -1), `Bearer ${await tokenOf(APPROVER)}`]).then(
      () => 'answered',
      (err: { stderr?: string }) => err.stderr ?? 'failed',
    );
    expect(refused).toMatch(/Forbidden.*role-not-allowed/);
  });
});

// Approvals through the HTTP API on the real Temporal server and a real store: the approver is the
// authenticated caller; the workflow's update validator refuses the requester, the beneficiary and
// whoever is not an approver, and the API audits the refused attempt; a request without a valid
// token, or with a role the route does not allow, is refused and audited too. The workflow is a
// test stand-in (fixtures/approval-stub-workflows.ts) that answers the production messages.
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken, type ApiRole, type JwtSettings } from '../../api/auth.js';
import { startApi, type ApiServer } from '../../api/server.js';
import { createApiClient, type ApiCallError } from '../../cli/api-client.js';
import { dataConverter } from '../../codec/data-converter.js';
import { createLogger } from '../../observability/logger.js';
import { queryAudit, recordApprovalEvents, type AuditRow } from '../../store/index.js';
import { accessRequestWorkflowId, type DecisionResult, type RequestState } from '../../workflows/approval-messages.js';
import type { ApprovalStubInput } from './fixtures/approval-stub-workflows.js';
import { eventually } from '../helpers/pipeline.js';
import { uniqueName } from '../helpers/unique.js';
import { cfg, createTestStore, type TestStore } from './store/test-store.js';
import { connectTemporal, connectTemporalNative } from '../../clients/temporal-connection.js';

const lines: string[] = [];
const memory = new Writable({
  write(chunk: Buffer, _encoding, done) {
    lines.push(chunk.toString('utf8'));
    done();
  },
});

const jwt: JwtSettings = { secret: new TextEncoder().encode(`approvals-api-${uniqueName('s')}-0123456789abcdef`), issuer: 'provisioner', audience: 'provisioner-api' };
const minted: string[] = [];
const token = async (sub: string, roles: ApiRole[]) => {
  const t = await mintToken(jwt, { sub, roles, ttl: '10m' });
  minted.push(t);
  return t;
};

// People: pseudonymous employee ids, unique to the run.
const id = (label: string) => uniqueName(label).replaceAll('-', '');
const REQUESTER = id('Ereq');
const BENEFICIARY = id('Eben');
const OWNER = id('Eown');
const OTHER_OWNER = id('Eown2');
const STRANGER = id('Estr');

let ts: TestStore;
let connection: Connection;
let workerConnection: NativeConnection;
let worker: Worker;
let running: Promise<void>;
let client: Client;
let api: ApiServer;
const taskQueue = uniqueName('approvals-api');

beforeAll(async () => {
  ts = await createTestStore('approvals_api');
  connection = await connectTemporal(cfg);
  client = new Client({ connection, namespace: cfg.temporal.namespace, dataConverter: dataConverter(cfg.dataDir) });
  workerConnection = await connectTemporalNative(cfg);
  worker = await Worker.create({
    connection: workerConnection,
    namespace: cfg.temporal.namespace,
    taskQueue,
    workflowsPath: fileURLToPath(new URL('./fixtures/approval-stub-workflows.ts', import.meta.url)),
    dataConverter: dataConverter(cfg.dataDir),
  });
  running = worker.run();
  const logger = createLogger({ level: 'trace', name: 'approvals-api-test', destination: memory });
  api = await startApi({ cfg, logger, client, store: ts.store, port: 0, jwt, corsOrigins: [] });
});

afterAll(async () => {
  await api?.close();
  if (worker) {
    worker.shutdown();
    await running;
  }
  await workerConnection?.close();
  await connection?.close();
  await ts?.drop();
});

/**
 * A request workflow (the stand-in) holding one any-of approval: the owners may decide; the requester
 * and the beneficiary are listed as owners too, so the refusal is theirs and not eligibility's. The
 * store learns of it as the production workflow tells it (recordApprovalEvents of the opened event).
 */
async function openRequest(): Promise<{ ticketId: string; approvalId: string }> {
  const ticketId = id('T');
  const approvers = [OWNER, OTHER_OWNER, REQUESTER, BENEFICIARY];
  const input: ApprovalStubInput = { ticketId, requesterId: REQUESTER, beneficiaryId: BENEFICIARY, app: 'chat', entitlementId: 'admins', approvers };
  const workflowId = accessRequestWorkflowId(ticketId);
  await client.workflow.start('approvalStub', { taskQueue, workflowId, args: [input], workflowExecutionTimeout: '15 minutes' });
  const approvalId = `req-${ticketId}.1.1`;
  const deadline = new Date(Date.now() + 3_600_000).toISOString();
  await recordApprovalEvents(ts.store, { workflowId, beneficiaryId: BENEFICIARY, requesterId: REQUESTER, ticketId }, [
    { kind: 'opened', approvalId, entitlement: 'chat:admins', rule: 'app-owner', stage: 0, mode: 'any-of', required: 1, eligible: [...approvers].sort(), deadline },
  ]);
  return { ticketId, approvalId };
}

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

const audit = (query: Parameters<typeof queryAudit>[2]) => queryAudit(ts.store.pool, ts.store.keys.kek, { limit: 1000, ...query });
const apiRefusals = async () => (await audit({ actor: 'service:api' })).filter((r) => r.action === 'api.refused');

describe('a request the API refuses before it reaches a workflow', () => {
  it('without a token: 401, and an api.refused record naming the route and the kind, never a token', async () => {
    const { approvalId } = await openRequest();
    const res = await call(`/approvals/${approvalId}/approve`, { body: {} });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ reason: 'missing-token' });
    const forged = await mintToken({ ...jwt, secret: new TextEncoder().encode('not-the-api-secret-but-long-enough!!') }, { sub: OWNER, roles: ['approver'] });
    minted.push(forged);
    expect((await call('/approvals', { token: forged })).status).toBe(401);

    const records = await apiRefusals();
    const reasons = records.map((r) => r.reason);
    expect(reasons).toContain('POST /approvals/:approvalId/approve: 401 missing-token');
    expect(reasons).toContain('GET /approvals: 401 invalid-token');
    const mine = records.find((r) => r.reason === 'POST /approvals/:approvalId/approve: 401 missing-token')!;
    expect(mine).toMatchObject({ actor: 'service:api', subject: null, changes: [{ op: 'api.request', outcome: 'missing-token' }] });
    for (const t of minted) expect(JSON.stringify(records)).not.toContain(t.split('.')[2]!);
    // Nothing was decided.
    const view = await call(`/approvals/${approvalId}`, { token: await token(OWNER, ['approver']) });
    expect(((await view.json()) as any).live).toMatchObject({ status: 'pending', votes: [] });
  });

  it('with a role the route does not allow: 403, audited with the caller as the subject', async () => {
    const { approvalId } = await openRequest();
    const auditor = id('Eaud');
    const res = await call(`/approvals/${approvalId}/approve`, { token: await token(auditor, ['auditor', 'operator']), body: {} });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ reason: 'role-not-allowed', requiredRoles: ['approver', 'admin'] });
    // An approver may list their own, not everyone's.
    const all = await call('/approvals?scope=all', { token: await token(OWNER, ['approver']) });
    expect(all.status).toBe(403);
    expect(await all.json()).toMatchObject({ requiredRoles: ['auditor', 'admin'] });

    const records = (await audit({ employeeId: auditor })).filter((r) => r.action === 'api.refused');
    expect(records).toEqual([
      expect.objectContaining({
        actor: 'service:api',
        subjectEmployeeId: auditor,
        reason: "POST /approvals/:approvalId/approve: 403 role-not-allowed (caller's roles: auditor, operator; allowed: approver, admin)",
      }),
    ]);
    expect((await audit({ employeeId: OWNER })).map((r) => r.reason)).toContain("GET /approvals?scope=all: 403 role-not-allowed (caller's roles: approver; allowed: auditor, admin)");
  });

  it('refuses an approver named in the body, a bad id and a bad Idempotency-Key with 400', async () => {
    const { approvalId } = await openRequest();
    const owner = await token(OWNER, ['approver']);
    const named = await call(`/approvals/${approvalId}/approve`, { token: owner, body: { approverId: OTHER_OWNER } });
    expect(named.status).toBe(400);
    expect(((await named.json()) as any).error).toMatch(/the approver is the authenticated caller/);
    expect((await call(`/approvals/${encodeURIComponent('req-x" or 1=1')}/approve`, { token: owner, body: {} })).status).toBe(400);
    expect((await call(`/approvals/${approvalId}/approve`, { token: owner, body: {}, headers: { 'idempotency-key': 'has spaces' } })).status).toBe(400);
    expect((await call(`/approvals/${approvalId}/approve`, { token: owner, body: { comment: 'x'.repeat(2001) } })).status).toBe(400);
  });
});

describe('listing approvals', () => {
  it("an approver sees the pending approvals they may decide (never their own request's), auditors see all", async () => {
    const { approvalId, ticketId } = await openRequest();
    const mine = await call('/approvals', { token: await token(OWNER, ['approver']) });
    expect(mine.status).toBe(200);
    const mineBody = (await mine.json()) as { scope: string; approvals: any[] };
    expect(mineBody.scope).toBe('mine');
    expect(mineBody.approvals.find((a) => a.approvalId === approvalId)).toMatchObject({
      approvalId, beneficiaryId: BENEFICIARY, requesterId: REQUESTER, ticketId, app: 'chat', entitlementId: 'admins', approverRule: 'app-owner', stage: 0, status: 'pending',
    });
    // The requester and the beneficiary are listed as owners, but never see it as theirs to decide.
    for (const who of [REQUESTER, BENEFICIARY, STRANGER]) {
      const list = (await (await call('/approvals', { token: await token(who, ['approver']) })).json()) as { approvals: any[] };
      expect(list.approvals.map((a) => a.approvalId)).not.toContain(approvalId);
    }
    const all = await call('/approvals?scope=all', { token: await token(id('Eaud'), ['auditor']) });
    expect(all.status).toBe(200);
    expect(((await all.json()) as { approvals: any[] }).approvals.map((a) => a.approvalId)).toContain(approvalId);
    expect((await call('/approvals?scope=everything', { token: await token(id('Eaud'), ['auditor']) })).status).toBe(400);

    // One approval: the store's record and the workflow's live view.
    const detail = await call(`/approvals/${approvalId}`, { token: await token(OWNER, ['approver']) });
    expect(detail.status).toBe(200);
    expect(await detail.json()).toMatchObject({
      approvalId, workflowId: accessRequestWorkflowId(ticketId), liveStatus: 'ok',
      record: { approvalId, status: 'pending', votes: [], eligible: [BENEFICIARY, OTHER_OWNER, OWNER, REQUESTER].sort() },
      live: { approvalId, status: 'pending', rule: 'app-owner', entitlement: 'chat:admins', votes: [] },
    });
  });
});

describe('a decision through the API', () => {
  it('the requester approving their own request: 403 requester, and an approval.refused record', async () => {
    const { approvalId, ticketId } = await openRequest();
    const res = await call(`/approvals/${approvalId}/approve`, { token: await token(REQUESTER, ['approver']), body: { comment: 'mine' } });
    expect(res.status).toBe(403);
    const body = (await res.json()) as { reason: string; error: string };
    expect(body.reason).toBe('requester');
    expect(body.error).toMatch(/requested this access and cannot decide/);

    const refused = (await audit({ actor: REQUESTER })).filter((r) => r.action === 'approval.refused');
    expect(refused).toEqual([
      expect.objectContaining({
        reason: 'approve refused (requester) via api',
        workflowId: accessRequestWorkflowId(ticketId),
        changes: [{ op: 'approval.approve', outcome: 'requester' }],
      }),
    ]);
    // The beneficiary and someone who is not an approver are refused alike; nothing entered the workflow.
    const asBeneficiary = await call(`/approvals/${approvalId}/approve`, { token: await token(BENEFICIARY, ['approver']), body: {} });
    expect([asBeneficiary.status, ((await asBeneficiary.json()) as any).reason]).toEqual([403, 'beneficiary']);
    const asStranger = await call(`/approvals/${approvalId}/reject`, { token: await token(STRANGER, ['approver']), body: {} });
    expect([asStranger.status, ((await asStranger.json()) as any).reason]).toEqual([403, 'not-eligible']);
    expect((await audit({ actor: STRANGER })).map((r: AuditRow) => r.changes[0]?.outcome)).toContain('not-eligible');
    const history = await client.workflow.getHandle(accessRequestWorkflowId(ticketId)).fetchHistory();
    expect(history.events!.some((e) => e.workflowExecutionUpdateAcceptedEventAttributes)).toBe(false);
  });

  it('an eligible approver approves: 200 with the decision; the request and the approval show it', async () => {
    const { approvalId, ticketId } = await openRequest();
    const owner = await token(OWNER, ['approver']);
    const res = await call(`/approvals/${approvalId}/approve`, { token: owner, body: { comment: 'needed for the on-call rota' } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ decision: { approvalId, status: 'approved', approvals: 1, required: 1, gateStatus: 'approved' } satisfies DecisionResult });

    const request = await call(`/requests/${ticketId}`, { token: await token(id('Eop'), ['operator']) });
    expect(request.status).toBe(200);
    const state = ((await request.json()) as { state: RequestState }).state;
    expect(state).toMatchObject({ ticketId, beneficiaryId: BENEFICIARY, entitlement: 'chat:admins', status: 'granted' });
    expect(state.approvals[0]!.votes).toEqual([expect.objectContaining({ approverId: OWNER, decision: 'approved', channel: 'api' })]);
    // The comment travels to the workflow but is not shown by its query.
    expect(JSON.stringify(state)).not.toContain('on-call');
    // The API recorded that it verified the caller's decision before sending it (the grant check counts only such votes).
    const verified = (await queryAudit(ts.store.pool, ts.store.keys.kek, { actor: OWNER, action: 'approval.decision-verified', limit: 100 })).filter((r) => r.personal?.approvalId === approvalId);
    expect(verified.map((r) => [r.reason, r.workflowId, r.personal?.decision, r.personal?.source, r.personal?.tokenSubject])).toEqual([['approve verified via api', accessRequestWorkflowId(ticketId), 'approved', 'api', OWNER]]);

    // The store learns of the vote as the production workflow tells it; the comment is for auditors' eyes.
    const vote = state.approvals[0]!.votes[0]!;
    await recordApprovalEvents(ts.store, { workflowId: accessRequestWorkflowId(ticketId), beneficiaryId: BENEFICIARY, requesterId: REQUESTER, ticketId }, [
      { kind: 'decided', approvalId, vote: { ...vote, comment: 'needed for the on-call rota' }, status: 'approved', approvals: 1, required: 1 },
    ]);
    const detail = await call(`/approvals/${approvalId}`, { token: await token(id('Eaud'), ['auditor']) });
    expect(detail.status).toBe(200);
    expect(await detail.json()).toMatchObject({
      approvalId, workflowId: accessRequestWorkflowId(ticketId), liveStatus: 'ok',
      live: { status: 'approved', beneficiaryId: BENEFICIARY, requesterId: REQUESTER },
      record: { status: 'approved', decidedBy: OWNER, votes: [{ approverId: OWNER, decision: 'approved', channel: 'api', comment: 'needed for the on-call rota' }] },
    });
    const asApprover = await (await call(`/approvals/${approvalId}`, { token: await token(OTHER_OWNER, ['approver']) })).json();
    expect(asApprover).toMatchObject({ record: { status: 'approved', votes: [{ approverId: OWNER, decision: 'approved' }] } });
    expect(JSON.stringify(asApprover)).not.toContain('on-call');

    // Decided: a second approver is too late (409), the first one twice too.
    const late = await call(`/approvals/${approvalId}/reject`, { token: await token(OTHER_OWNER, ['approver']), body: {} });
    expect([late.status, ((await late.json()) as any).reason]).toEqual([409, 'not-pending']);
    const again = await call(`/approvals/${approvalId}/approve`, { token: owner, body: {} });
    expect([again.status, ((await again.json()) as any).reason]).toEqual([409, 'already-voted']);
  });

  it('a repeat with the same Idempotency-Key returns the first answer; another caller with that key does not get it', async () => {
    const { approvalId, ticketId } = await openRequest();
    const owner = await token(OTHER_OWNER, ['approver']);
    const key = uniqueName('idem');
    const first = await call(`/approvals/${approvalId}/reject`, { token: owner, body: { comment: 'not this quarter' }, headers: { 'idempotency-key': key } });
    expect(first.status).toBe(200);
    const firstBody = await first.json();
    expect(firstBody).toEqual({ decision: { approvalId, status: 'rejected', approvals: 0, required: 1, gateStatus: 'rejected' } });
    const repeat = await call(`/approvals/${approvalId}/reject`, { token: owner, body: { comment: 'not this quarter' }, headers: { 'idempotency-key': key } });
    expect(repeat.status).toBe(200);
    expect(await repeat.json()).toEqual(firstBody);
    // One decision in the workflow's history.
    const history = await client.workflow.getHandle(accessRequestWorkflowId(ticketId)).fetchHistory();
    expect(history.events!.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes)).toHaveLength(1);
    // The key is the caller's: someone else sending it decides (or is refused) on their own.
    const other = await call(`/approvals/${approvalId}/approve`, { token: await token(OWNER, ['approver']), body: {}, headers: { 'idempotency-key': key } });
    expect([other.status, ((await other.json()) as any).reason]).toEqual([409, 'not-pending']);
  });

  it('an approval no workflow holds is 404; so is a request without a workflow', async () => {
    const owner = await token(OWNER, ['approver', 'auditor']);
    const missing = await call(`/approvals/req-${id('NOTICKET')}.1.1/approve`, { token: owner, body: {} });
    expect([missing.status, ((await missing.json()) as any).reason]).toEqual([404, 'no-such-workflow']);
    const foreign = await call('/approvals/not-one-of-ours/approve', { token: owner, body: {} });
    expect([foreign.status, ((await foreign.json()) as any).reason]).toEqual([404, 'unknown-approval']);
    expect((await call('/approvals/not-one-of-ours', { token: owner })).status).toBe(404);
    const request = await call(`/requests/${id('NOTICKET')}`, { token: owner });
    expect([request.status, ((await request.json()) as any).reason]).toEqual([404, 'request-not-found']);
  });

  it('504 when no worker takes the decision in time', async () => {
    const ticketId = id('T');
    const input: ApprovalStubInput = { ticketId, requesterId: REQUESTER, beneficiaryId: BENEFICIARY, app: 'chat', entitlementId: 'admins', approvers: [OWNER] };
    // A request workflow on a task queue no worker polls.
    const handle = await client.workflow.start('approvalStub', { taskQueue: uniqueName('no-worker'), workflowId: accessRequestWorkflowId(ticketId), args: [input] });
    const slow = await startApi({ cfg, logger: createLogger({ level: 'silent' }), client, store: ts.store, port: 0, jwt, corsOrigins: [], decisionTimeoutMs: 1_500 });
    try {
      const res = await fetch(`${slow.url}/approvals/req-${ticketId}.1.1/approve`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await token(OWNER, ['approver'])}`, 'content-type': 'application/json', 'idempotency-key': 'k1' },
        body: '{}',
      });
      expect(res.status).toBe(504);
      expect(await res.json()).toMatchObject({ reason: 'decision-timeout' });
    } finally {
      await slow.close();
      await handle.terminate('test finished');
    }
  });

  it("the CLI's client decides as the caller of its token, and a refusal carries the API's reason", async () => {
    const { approvalId } = await openRequest();
    const asRequester = createApiClient({ baseUrl: api.url, token: await token(REQUESTER, ['approver']) });
    const refused = await asRequester.post(`/approvals/${approvalId}/approve`, {}).catch((err: ApiCallError) => err);
    expect(refused).toMatchObject({ name: 'ApiCallError', status: 403, reason: 'requester' });
    const asOwner = createApiClient({ baseUrl: api.url, token: await token(OWNER, ['approver']) });
    expect(await asOwner.post(`/approvals/${approvalId}/approve`, { comment: 'ok' })).toMatchObject({ decision: { status: 'approved' } });
  });
});

describe('the API log', () => {
  it('has a line for each refusal and no token', async () => {
    await eventually('log lines flushed', async () => (lines.join('').includes('"api authorisation refused"') ? true : undefined), 5_000);
    const log = lines.join('');
    expect(log).toContain('"api authentication refused"');
    for (const t of minted) expect(log.includes(t.split('.')[2]!), 'a token signature in the log').toBe(false);
  });
});

import { Writable } from 'node:stream';
import type { NextFunction, Request, Response } from 'express';
import { describe, expect, it } from 'vitest';
import {
  auditRefusals, authenticate, authorize, isAllowed, mintToken, NoRoleError, routeKeyOf, verifyToken, type AuthRefusal, type JwtSettings, type RefusalAuditor,
} from '../../api/auth.js';
import { IdpUnavailableError } from '../../api/oidc-discovery.js';
import { decisionBodySchema, decisionUpdateId, refusalStatus } from '../../api/routes/approvals.js';
import { createLogger } from '../../observability/logger.js';
import { auditEntrySchema, type AuditEntry } from '../../store/audit-record.js';

const settings: JwtSettings = { secret: new TextEncoder().encode('a-test-secret-of-at-least-32-bytes!!'), issuer: 'provisioner', audience: 'provisioner-api' };
const devTokens = (token: string) => verifyToken(settings, token);

type Answer = { status?: number; body?: any; headers: Record<string, string>; nextCalled: boolean; nextError?: unknown };

/** Runs one middleware over a fake request and response (no server). */
async function run(
  middleware: (req: Request, res: Response, next: NextFunction) => unknown,
  req: { method: string; url: string; authorization?: string; query?: Record<string, string> },
  locals: Record<string, unknown> = {},
): Promise<Answer> {
  const answer: Answer = { headers: {}, nextCalled: false };
  const res = {
    locals,
    setHeader: (k: string, v: string) => void (answer.headers[k.toLowerCase()] = v),
    status(code: number) {
      answer.status = code;
      return this;
    },
    json(body: unknown) {
      answer.body = body;
      return this;
    },
  };
  const fakeReq = { method: req.method, originalUrl: req.url, headers: req.authorization ? { authorization: req.authorization } : {}, query: req.query ?? {} };
  await middleware(fakeReq as unknown as Request, res as unknown as Response, (err?: unknown) => {
    answer.nextCalled = true;
    answer.nextError = err;
  });
  return answer;
}

function recorder() {
  const refusals: AuthRefusal[] = [];
  return { refusals, hook: (r: AuthRefusal) => void refusals.push(r) };
}

function memoryLog() {
  const lines: any[] = [];
  const logger = createLogger({ level: 'trace', destination: new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(JSON.parse(chunk.toString())), done()) }) });
  return { lines, logger };
}

function auditStore(options: { fail?: boolean } = {}) {
  const entries: AuditEntry[] = [];
  const store: RefusalAuditor = {
    async audit(entry) {
      if (options.fail) throw new Error('the database is down');
      entries.push(auditEntrySchema.parse(entry));
      return {};
    },
  };
  return { entries, store };
}

describe('the route table key of a request', () => {
  it('matches the method and each path segment, and nothing the table does not list', () => {
    expect(routeKeyOf('GET', '/identities/E1001')).toBe('GET /identities/:employeeId');
    expect(routeKeyOf('post', '/approvals/req-T1.1.1/approve')).toBe('POST /approvals/:approvalId/approve');
    expect(routeKeyOf('GET', '/approvals')).toBe('GET /approvals');
    expect(routeKeyOf('GET', '/requests/T1')).toBe('GET /requests/:ticketId');
    expect(routeKeyOf('DELETE', '/approvals/req-T1.1.1')).toBeUndefined();
    expect(routeKeyOf('GET', '/identities/')).toBeUndefined();
    expect(routeKeyOf('GET', '/identities/E1/extra')).toBeUndefined();
    expect(routeKeyOf('GET', '/admin/secrets')).toBeUndefined();
  });

  it('lets approvers decide and list their own, auditors and admins list all, and nobody else decide', () => {
    expect(isAllowed('POST /approvals/:approvalId/approve', ['approver'])).toBe(true);
    expect(isAllowed('POST /approvals/:approvalId/reject', ['admin'])).toBe(true);
    expect(isAllowed('POST /approvals/:approvalId/approve', ['auditor', 'operator'])).toBe(false);
    expect(isAllowed('GET /approvals', ['approver'])).toBe(true);
    expect(isAllowed('GET /approvals?scope=all', ['approver'])).toBe(false);
    expect(isAllowed('GET /approvals?scope=all', ['auditor'])).toBe(true);
    expect(isAllowed('GET /requests/:ticketId', ['operator'])).toBe(true);
  });
});

describe('a refused request', () => {
  it('without a token: 401, and the hook hears the method, the route and the kind before the answer', async () => {
    const { refusals, hook } = recorder();
    const answer = await run(authenticate(devTokens, hook), { method: 'POST', url: '/approvals/req-T1.1.1/approve?x=1' });
    expect(answer.status).toBe(401);
    expect(answer.body).toMatchObject({ reason: 'missing-token' });
    expect(answer.nextCalled).toBe(false);
    expect(refusals).toEqual([{ status: 401, kind: 'missing-token', method: 'POST', path: '/approvals/req-T1.1.1/approve', route: 'POST /approvals/:approvalId/approve' }]);
  });

  it('with a forged token: 401 invalid-token; with a valid one the request goes on, unrefused', async () => {
    const { refusals, hook } = recorder();
    const forged = await mintToken({ ...settings, secret: new TextEncoder().encode('not-the-api-secret-but-long-enough!!') }, { sub: 'E1', roles: ['admin'] });
    expect((await run(authenticate(devTokens, hook), { method: 'GET', url: '/approvals', authorization: `Bearer ${forged}` })).status).toBe(401);
    expect(refusals.map((r) => r.kind)).toEqual(['invalid-token']);
    const locals: Record<string, unknown> = {};
    const ok = await run(authenticate(devTokens, hook), { method: 'GET', url: '/approvals', authorization: `Bearer ${await mintToken(settings, { sub: 'E2', roles: ['approver'] })}` }, locals);
    expect(ok.nextCalled).toBe(true);
    expect(locals.caller).toEqual({ employeeId: 'E2', roles: ['approver'] });
    expect(refusals).toHaveLength(1);
  });

  it('with a role the route does not allow: 403, and the hook hears the caller; the scope=all row is its own', async () => {
    const { refusals, hook } = recorder();
    const caller = { employeeId: 'E3', roles: ['approver'] };
    const refused = await run(authorize('GET /fence', hook), { method: 'GET', url: '/fence' }, { caller });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ reason: 'role-not-allowed', requiredRoles: ['operator', 'auditor', 'admin'] });
    expect(refusals).toEqual([{ status: 403, kind: 'role-not-allowed', method: 'GET', path: '/fence', route: 'GET /fence', caller }]);

    const byScope = authorize((req) => (req.query.scope === 'all' ? 'GET /approvals?scope=all' : 'GET /approvals'), hook);
    expect((await run(byScope, { method: 'GET', url: '/approvals' }, { caller })).nextCalled).toBe(true);
    expect((await run(byScope, { method: 'GET', url: '/approvals?scope=all', query: { scope: 'all' } }, { caller })).status).toBe(403);
    expect(refusals.at(-1)).toMatchObject({ route: 'GET /approvals?scope=all', path: '/approvals' });
  });

  it('is logged and audited as api.refused by the API service, naming method, route and kind, never the token', async () => {
    const { entries, store } = auditStore();
    const { lines, logger } = memoryLog();
    const onRefused = auditRefusals({ logger, store });
    const forged = await mintToken({ ...settings, secret: new TextEncoder().encode('not-the-api-secret-but-long-enough!!') }, { sub: 'E1', roles: ['admin'] });
    await run(authenticate(devTokens, onRefused), { method: 'GET', url: '/identities/E1001', authorization: `Bearer ${forged}` });
    await run(authenticate(devTokens, onRefused), { method: 'GET', url: '/admin/E1001-secrets' });
    await run(authorize('POST /approvals/:approvalId/approve', onRefused), { method: 'POST', url: '/approvals/req-T9.1.1/approve' }, { caller: { employeeId: 'E4', roles: ['auditor'] } });

    expect(entries).toHaveLength(3);
    for (const e of entries) {
      expect(e).toMatchObject({ actor: { type: 'service', id: 'api' }, action: 'api.refused' });
      expect(JSON.stringify(e)).not.toContain(forged);
      expect(JSON.stringify(e)).not.toContain(forged.split('.')[2]!);
    }
    expect(entries[0]!.reason).toBe('GET /identities/:employeeId: 401 invalid-token');
    expect(entries[0]!.subject).toBeUndefined();
    // A path the API does not serve could carry anything: its method only.
    expect(entries[1]!.reason).toBe('GET (a path the API does not serve): 401 missing-token');
    expect(entries[2]!.reason).toBe("POST /approvals/:approvalId/approve: 403 role-not-allowed (caller's roles: auditor; allowed: approver, admin)");
    expect(entries[2]!.subject).toEqual({ employeeId: 'E4' });
    expect(entries[2]!.changes).toEqual([{ op: 'api.request', outcome: 'role-not-allowed' }]);

    expect(lines.filter((l) => l.msg === 'api authentication refused')).toHaveLength(2);
    expect(lines.filter((l) => l.msg === 'api authorisation refused')).toEqual([expect.objectContaining({ caller: 'E4', route: 'POST /approvals/:approvalId/approve' })]);
    expect(JSON.stringify(lines)).not.toContain(forged);
  });

  it("from the identity provider: a person with no role is 403 no-role, an unreachable provider 503 idp-unavailable; both audited", async () => {
    const { entries, store } = auditStore();
    const { lines, logger } = memoryLog();
    const onRefused = auditRefusals({ logger, store });
    const noRole = await run(authenticate(async () => Promise.reject(new NoRoleError('E7', 'no group maps to a role')), onRefused), { method: 'GET', url: '/fence', authorization: 'Bearer a.b.c' });
    expect(noRole).toMatchObject({ status: 403, body: { reason: 'no-role' }, nextCalled: false });
    const down = await run(authenticate(async () => Promise.reject(new IdpUnavailableError('oidc: https://idp.example/.well-known/openid-configuration: connect ECONNREFUSED')), onRefused), { method: 'GET', url: '/fence', authorization: 'Bearer a.b.c' });
    expect(down).toMatchObject({ status: 503, body: { reason: 'idp-unavailable' }, headers: { 'retry-after': '5' } });
    // The provider's address is for the log, not for the caller.
    expect(JSON.stringify(down.body)).not.toContain('idp.example');
    expect(entries.map((e) => [e.reason, e.subject])).toEqual([
      ["GET /fence: 403 no-role (the identity provider's groups map to no provisioner role)", { employeeId: 'E7' }],
      ['GET /fence: 503 idp-unavailable', undefined],
    ]);
    expect(lines.find((l) => l.msg === 'api: the identity provider could not be asked')).toMatchObject({ detail: expect.stringContaining('ECONNREFUSED') });
  });

  it('is still answered when the audit trail cannot be written, and the failure is logged', async () => {
    const { store } = auditStore({ fail: true });
    const { lines, logger } = memoryLog();
    const answer = await run(authenticate(devTokens, auditRefusals({ logger, store })), { method: 'GET', url: '/approvals' });
    expect(answer.status).toBe(401);
    expect(lines.map((l) => l.msg)).toContain('api: could not audit a refused request');
  });
});

describe('a decision over HTTP', () => {
  it('maps refusals: requester, beneficiary, not eligible 403; decided 409; unknown 404', () => {
    expect(refusalStatus('requester')).toBe(403);
    expect(refusalStatus('beneficiary')).toBe(403);
    expect(refusalStatus('not-eligible')).toBe(403);
    expect(refusalStatus('not-pending')).toBe(409);
    expect(refusalStatus('already-voted')).toBe(409);
    expect(refusalStatus('unknown-approval')).toBe(404);
    expect(refusalStatus('no-such-workflow')).toBe(404);
  });

  it('takes a comment and nothing else: an approver named in the body is refused, not ignored', () => {
    expect(decisionBodySchema.parse({})).toEqual({});
    expect(decisionBodySchema.parse({ comment: ' fine ' })).toEqual({ comment: 'fine' });
    expect(decisionBodySchema.safeParse({ comment: 'x'.repeat(2001) }).success).toBe(false);
    expect(decisionBodySchema.safeParse({ approverId: 'E1' }).success).toBe(false);
    expect(decisionBodySchema.safeParse({ comment: 'ok', approverId: 'E1' }).success).toBe(false);
  });

  it('scopes an Idempotency-Key to the caller, the approval and the verb, and keeps the key out of the id', () => {
    const id = decisionUpdateId('E1', 'req-T1.1.1', 'approve', 'my key: Ada Lovelace');
    expect(id).toMatch(/^api-[0-9a-f]{40}$/);
    expect(decisionUpdateId('E1', 'req-T1.1.1', 'approve', 'my key: Ada Lovelace')).toBe(id);
    expect(decisionUpdateId('E2', 'req-T1.1.1', 'approve', 'my key: Ada Lovelace')).not.toBe(id);
    expect(decisionUpdateId('E1', 'req-T1.1.2', 'approve', 'my key: Ada Lovelace')).not.toBe(id);
    expect(decisionUpdateId('E1', 'req-T1.1.1', 'reject', 'my key: Ada Lovelace')).not.toBe(id);
  });

  it('a caller is one person in any letter case: a token for e1 retrying what E1 sent is the same decision', () => {
    expect(decisionUpdateId('e1', 'req-T1.1.1', 'approve', 'k')).toBe(decisionUpdateId('E1', 'req-T1.1.1', 'approve', 'k'));
  });
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { describe, expect, it, vi } from 'vitest';
import { ApiCallError, ApiClientConfigError, apiBaseUrl, apiClientFromConfig, createApiClient, resolveApiToken } from '../../cli/api-client.js';
import { formatApprovalDetail, formatApprovals, formatDecision, formatRequest, registerApprovalCommands } from '../../cli/commands/approvals.js';
import { formatFenceDecision, registerFenceCommands } from '../../cli/commands/fence.js';
import { loadConfig } from '../../schemas/config.js';
import type { ApprovalView } from '../../policy/approval-chain.js';

/** The configuration the environment `env` alone yields. */
const configOf = (env: NodeJS.ProcessEnv) => loadConfig({ env, root: mkdtempSync(path.join(tmpdir(), 'api-client-')) });

const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJFMSJ9.c2lnbmF0dXJlLXNlY3JldA';

type Seen = { method: string; url: string; headers: Record<string, string>; body?: unknown };

/** A fetch that answers from a table of `METHOD path` → [status, body], recording each call. */
function fakeFetch(routes: Record<string, [number, unknown]>) {
  const seen: Seen[] = [];
  const impl = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const method = init?.method ?? 'GET';
    seen.push({ method, url: `${url.pathname}${url.search}`, headers: init?.headers as Record<string, string>, ...(init?.body ? { body: JSON.parse(String(init.body)) } : {}) });
    const answer = routes[`${method} ${url.pathname}${url.search}`];
    if (!answer) return new Response(JSON.stringify({ error: 'no such route', reason: 'not-found' }), { status: 404 });
    return new Response(JSON.stringify(answer[1]), { status: answer[0], headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
  return { seen, impl };
}

async function cli(register: (program: Command) => void, args: string[]): Promise<string> {
  const out: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (out.push(String(chunk)), true));
  const program = new Command().exitOverride().configureOutput({ writeErr: () => undefined });
  register(program);
  try {
    await program.parseAsync(['node', 'provisioner', ...args]);
  } finally {
    vi.mocked(process.stdout.write).mockRestore();
  }
  return out.join('');
}

const view = (over: Partial<ApprovalView> = {}): ApprovalView => ({
  approvalId: 'req-T1.1.1', chain: 0, stage: 0, entitlement: 'chat:admins', rule: 'app-owner', mode: 'any-of', required: 1, escalated: false,
  status: 'pending', eligible: ['E2', 'E3'], openedAt: '2030-01-01T10:00:00.000Z', deadline: '2030-01-02T10:00:00.000Z', votes: [], beneficiaryId: 'E9', requesterId: 'E8',
  ...over,
});

describe("the CLI's API token", () => {
  it('comes from --token-file when given, else the configured one (PROVISIONER_API_TOKEN)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'api-token-'));
    const file = path.join(dir, 'token');
    writeFileSync(file, `${TOKEN}x\n`);
    expect(resolveApiToken({ token: ` ${TOKEN}\n` })).toBe(TOKEN);
    expect(resolveApiToken({ token: TOKEN, tokenFile: file })).toBe(`${TOKEN}x`);
    expect(resolveApiToken({ tokenFile: file })).toBe(`${TOKEN}x`);
  });

  it('missing, empty, unreadable or not a token: an error that says how to get one and never echoes it', () => {
    expect(() => resolveApiToken({})).toThrow(ApiClientConfigError);
    expect(() => resolveApiToken({})).toThrow(/provisioner api token --dev --sub <yourEmployeeId> --roles approver/);
    expect(() => resolveApiToken({ token: '  ' })).toThrow(/PROVISIONER_API_TOKEN or pass --token-file/);
    expect(() => resolveApiToken({ tokenFile: '/nonexistent/token' })).toThrow(/cannot read the API token from --token-file \/nonexistent\/token: ENOENT/);
    expect(() => resolveApiToken({ tokenFile: 'f', readFile: () => '\n' })).toThrow(/is empty/);
    let message = '';
    try {
      resolveApiToken({ token: `${TOKEN} trailing-secret-part` });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/not a bearer token/);
    expect(message).not.toContain('trailing-secret-part');
    expect(message).not.toContain(TOKEN);
  });

  it("the API's address is PROVISIONER_API_URL, else 127.0.0.1 on the API port", () => {
    expect(apiBaseUrl(configOf({}))).toBe('http://127.0.0.1:9467');
    expect(apiBaseUrl(configOf({ PROVISIONER_API_PORT: '9555' }))).toBe('http://127.0.0.1:9555');
    expect(apiBaseUrl(configOf({ PROVISIONER_API_URL: 'https://api.example.test/' }))).toBe('https://api.example.test');
    expect(() => apiBaseUrl(configOf({ PROVISIONER_API_URL: 'not a url' }))).toThrow(/not a URL/);
    expect(() => apiBaseUrl(configOf({ PROVISIONER_API_URL: 'ftp://x' }))).toThrow(/http:\/\/ or https:\/\//);
    expect(() => apiBaseUrl(configOf({ PROVISIONER_API_URL: 'http://u:p@x' }))).toThrow(/must not carry credentials/);
  });
});

describe("the CLI's API client", () => {
  it('sends the bearer token and JSON, and returns the JSON answer', async () => {
    const { seen, impl } = fakeFetch({ 'POST /x': [200, { ok: true }] });
    const api = createApiClient({ baseUrl: 'http://api.test', token: TOKEN, fetch: impl });
    expect(await api.post('/x', { comment: 'c' }, { 'idempotency-key': 'k1' })).toEqual({ ok: true });
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/x', body: { comment: 'c' }, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'idempotency-key': 'k1' } });
  });

  it("turns an error answer into ApiCallError with the API's reason; a 401 says how to get a token", async () => {
    const { impl } = fakeFetch({ 'GET /a': [403, { error: 'E8 requested this access', reason: 'requester' }], 'GET /b': [401, { error: 'the token has expired', reason: 'expired-token' }] });
    const api = createApiClient({ baseUrl: 'http://api.test', token: TOKEN, fetch: impl });
    await expect(api.get('/a')).rejects.toMatchObject({ name: 'ApiCallError', status: 403, reason: 'requester', message: '403 requester: E8 requested this access' });
    const expired = await api.get('/b').catch((err: ApiCallError) => err);
    expect(expired).toBeInstanceOf(ApiCallError);
    expect((expired as ApiCallError).message).toMatch(/^401 expired-token: the token has expired \(run `provisioner login`, or set PROVISIONER_API_TOKEN/);
    expect((expired as ApiCallError).message).not.toContain(TOKEN);
  });

  it('an API that cannot be reached is named, with what to check', async () => {
    const down = (async () => {
      throw new TypeError('fetch failed');
    }) as typeof fetch;
    const api = apiClientFromConfig(configOf({ PROVISIONER_API_TOKEN: TOKEN, PROVISIONER_API_PORT: '9999' }), { fetch: down });
    await expect(api.get('/fence')).rejects.toMatchObject({ status: 0, reason: 'unreachable', message: expect.stringMatching(/cannot reach the API at http:\/\/127\.0\.0\.1:9999 .*provisioner api/) });
  });
});

describe('provisioner approvals | approve | reject | request', () => {
  const decision = { approvalId: 'req-T1.1.1', status: 'approved', approvals: 1, required: 1, gateStatus: 'approved' };
  const setup = (routes: Record<string, [number, unknown]>) => {
    const { seen, impl } = fakeFetch(routes);
    const client = () => createApiClient({ baseUrl: 'http://api.test', token: TOKEN, fetch: impl });
    return { seen, run: (args: string[]) => cli((p) => registerApprovalCommands(p, { client }), args) };
  };

  it('lists my approvals for people (id, beneficiary, entitlement, rule, stage, deadline), --all and --json for machines', async () => {
    const record = { approvalId: 'req-T1.2.3', beneficiaryId: 'E9', app: 'chat', entitlementId: 'admins', approverRule: 'security', deadline: '2030-01-02T10:00:00.000Z', status: 'pending' };
    const { seen, run } = setup({ 'GET /approvals': [200, { scope: 'mine', approvals: [record] }], 'GET /approvals?scope=all': [200, { scope: 'all', approvals: [] }] });
    const out = await run(['approvals']);
    expect(out.split('\n')[0]).toMatch(/^APPROVAL\s+BENEFICIARY\s+ENTITLEMENT\s+RULE\s+STAGE\s+DEADLINE$/);
    expect(out.split('\n')[1]).toMatch(/^req-T1\.2\.3\s+E9\s+chat:admins\s+security\s+3\s+2030-01-02T10:00:00Z$/);
    expect(out).toContain('provisioner approve <approvalId>');
    expect(await run(['approvals', '--all'])).toBe('no approval is pending\n');
    expect(JSON.parse(await run(['approvals', '--json']))).toEqual({ scope: 'mine', approvals: [record] });
    expect(seen.map((s) => s.url)).toEqual(['/approvals', '/approvals?scope=all', '/approvals']);
  });

  it('shows one approval with its votes from the workflow, or from the store when the workflow does not answer', () => {
    const live = view({ status: 'approved', votes: [{ approverId: 'E2', decision: 'approved', channel: 'api', at: '2030-01-01T11:00:00.000Z' }] });
    const text = formatApprovalDetail({ approvalId: 'req-T1.1.1', workflowId: 'request/T1', record: null, live, liveStatus: 'ok' });
    expect(text).toContain('approval req-T1.1.1: approved');
    expect(text).toContain('beneficiary E9, requested by E8');
    expect(text).toContain('entitlement chat:admins, rule app-owner, stage 1, deadline 2030-01-02T10:00:00Z');
    expect(text).toContain('approved by E2 at 2030-01-01T11:00:00.000Z via api');
    const stored = formatApprovalDetail({
      approvalId: 'req-T1.1.1', workflowId: 'request/T1', liveStatus: 'no-workflow', live: null,
      record: { approvalId: 'req-T1.1.1', beneficiaryId: 'E9', app: 'chat', entitlementId: 'admins', approverRule: 'app-owner', status: 'rejected', votes: [{ approverId: 'E3', decision: 'rejected', comment: 'no' }] },
    });
    expect(stored).toContain('rejected by E3: no');
    expect(stored).toContain('did not answer: no-workflow; shown from the store');
  });

  it('approves as the caller: posts the comment only, prints what happened', async () => {
    const { seen, run } = setup({ 'POST /approvals/req-T1.1.1/approve': [200, { decision }] });
    expect(await run(['approve', 'req-T1.1.1', '--comment', 'looks right'])).toBe(`${formatDecision('approve', decision as never)}\n`);
    expect(seen[0]!.body).toEqual({ comment: 'looks right' });
    expect(formatDecision('approve', decision as never)).toBe('approved req-T1.1.1: it is now approved (1 of 1 approval(s)); the request is approved');
  });

  it("a refusal rejects with the API's reason (main prints it and exits non-zero)", async () => {
    const { seen, run } = setup({ 'POST /approvals/req-T1.1.1/reject': [403, { error: 'E8 requested this access and cannot decide its approval', reason: 'requester' }] });
    await expect(run(['reject', 'req-T1.1.1'])).rejects.toMatchObject({ name: 'ApiCallError', status: 403, reason: 'requester', message: expect.stringContaining('cannot decide its approval') });
    expect(seen[0]!.body).toEqual({});
  });

  it('encodes ids into one path segment', async () => {
    const { seen, run } = setup({});
    await expect(run(['approve', '../fence/batches/b1/release'])).rejects.toThrow(ApiCallError);
    expect(seen[0]!.url).toBe('/approvals/..%2Ffence%2Fbatches%2Fb1%2Frelease/approve');
  });

  it('shows a request: status, reasons and its approval chain', async () => {
    const state = { ticketId: 'T1', beneficiaryId: 'E9', entitlement: 'chat:admins', status: 'awaiting-approval', reasons: [], approvals: [view()] };
    const { run } = setup({ 'GET /requests/T1': [200, { ticketId: 'T1', workflowId: 'request/T1', state }] });
    const out = await run(['request', 'T1']);
    expect(out).toBe(`${formatRequest(state as never)}\n`);
    expect(out).toContain('ticket T1: awaiting-approval');
    expect(out).toMatch(/req-T1\.1\.1\s+pending\s+rule app-owner, stage 1, any-of, deadline 2030-01-02T10:00:00\.000Z/);
    expect(out).toContain('may decide: E2, E3');
  });

  it('without a token or a stored login, says how to get one', async () => {
    const saved = { token: process.env.PROVISIONER_API_TOKEN, xdg: process.env.XDG_CONFIG_HOME };
    delete process.env.PROVISIONER_API_TOKEN;
    process.env.XDG_CONFIG_HOME = mkdtempSync(path.join(tmpdir(), 'no-login-'));
    try {
      await expect(cli((p) => registerApprovalCommands(p), ['approvals'])).rejects.toThrow(/you are not signed in to .*; run `provisioner login`, .*provisioner api token --dev/);
    } finally {
      if (saved.token !== undefined) process.env.PROVISIONER_API_TOKEN = saved.token;
      if (saved.xdg !== undefined) process.env.XDG_CONFIG_HOME = saved.xdg;
      else delete process.env.XDG_CONFIG_HOME;
    }
  });
});

describe('provisioner fence through the API', () => {
  const setup = (routes: Record<string, [number, unknown]>) => {
    const { seen, impl } = fakeFetch(routes);
    const client = () => createApiClient({ baseUrl: 'http://api.test', token: TOKEN, fetch: impl });
    return { seen, run: (args: string[]) => cli((p) => registerFenceCommands(p, { client }), args) };
  };
  const open = { batchId: 'batch-1', status: 'open', openedAt: 'now', reasons: [], releasesRequired: 2, releasedBy: ['E1'], requests: 4 };

  it('lists, releases and rejects as the caller; no --operator any more', async () => {
    const { seen, run } = setup({
      'GET /fence': [200, { fence: null }],
      'POST /fence/batches/batch-1/release': [200, { batch: open }],
      'POST /fence/batches/batch-1/reject': [200, { batch: { ...open, status: 'rejected', decidedBy: ['E1'], decidedAt: 'now' } }],
    });
    expect(await run(['fence', 'list'])).toBe('fence: nothing held (nothing was ever fenced)\n');
    expect(await run(['fence', 'release', 'batch-1'])).toBe('fence: batch-1 released by E1; it needs 1 more operator(s)\n');
    expect(await run(['fence', 'reject', 'batch-1'])).toBe('fence: batch-1 rejected by E1 (4 people); nothing changes for them\n');
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual(['GET /fence', 'POST /fence/batches/batch-1/release', 'POST /fence/batches/batch-1/reject']);
    expect(seen.every((s) => s.headers.authorization === `Bearer ${TOKEN}`)).toBe(true);
    await expect(run(['fence', 'release', 'batch-1', '--operator', 'E1'])).rejects.toThrow(/unknown option '--operator'/);
  });

  it('releases or rejects one person in a batch with --person', async () => {
    const { seen, run } = setup({
      'POST /fence/batches/batch-1/release?person=E77': [200, { batch: open, decided: [] }],
      'POST /fence/batches/batch-1/reject?person=E78': [200, { batch: { ...open, requests: 3 }, decided: [{ requestId: 'identity/E78/ev', employeeId: 'E78', decision: 'rejected' }] }],
    });
    expect(await run(['fence', 'release', 'batch-1', '--person', 'E77'])).toBe('fence: your release of E77 in batch-1 is recorded; it needs 2 operator(s) in all\n');
    expect(await run(['fence', 'reject', 'batch-1', '--person', 'E78'])).toBe('fence: E78 rejected in batch-1; nothing changes for them; the batch stays open with 3 people held\n');
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual(['POST /fence/batches/batch-1/release?person=E77', 'POST /fence/batches/batch-1/reject?person=E78']);
  });

  it("a refused release rejects with the fence's reason", async () => {
    const { run } = setup({ 'POST /fence/batches/batch-1/release': [409, { error: 'fence release refused: E1 already released batch-1', reason: 'fence-refused' }] });
    await expect(run(['fence', 'release', 'batch-1'])).rejects.toMatchObject({ status: 409, reason: 'fence-refused', message: expect.stringContaining('already released') });
    expect(formatFenceDecision('release', 'b', { ...open, status: 'released', decidedBy: ['E1', 'E2'] } as never)).toBe('fence: b released by E1, E2 (4 people)');
  });
});

describe('formatApprovals', () => {
  it('says so when nothing waits', () => {
    expect(formatApprovals([], 'mine')).toBe('no approval is waiting for you');
  });
});

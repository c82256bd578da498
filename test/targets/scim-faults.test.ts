// Injected faults over real HTTP: latency, rate limit (429 + Retry-After), 5xx answers, writes
// that are committed but never answered, memberships refused for good, writes answered late (applied
// at once), slow and lost deletes. Set
// through /admin/faults or at start.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ERROR_SCHEMA, groupBody, patchOp, startTestScimApp, userBody, type TestScimApp } from '../helpers/scim-app.js';

let clock = Date.now();
let app: TestScimApp;
beforeAll(async () => {
  app = await startTestScimApp({ now: () => clock });
});
afterAll(async () => {
  await app.close();
});
beforeEach(async () => {
  await app.admin.clearFaults();
  await app.admin.reset();
});

const byUserName = async (userName: string) =>
  (await app.scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`)).body.Resources as any[];

describe('latency', () => {
  it('latencyMs delays SCIM requests, but not /health or /admin', async () => {
    await app.admin.setFaults({ latencyMs: 300 });
    let started = performance.now();
    expect((await app.scim('GET', '/Users')).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    started = performance.now();
    await fetch(`${app.url}/health`);
    await app.admin.faults();
    expect(performance.now() - started).toBeLessThan(290);
    expect((await app.admin.faults()).injected.delayed).toBe(1);
  });
});

describe('rate limit', () => {
  it('beyond requestsPerSecond the app answers 429 with Retry-After, and accepts again a second later', async () => {
    await app.admin.setFaults({ rateLimit: { requestsPerSecond: 2 } });
    expect((await app.scim('GET', '/Users')).status).toBe(200);
    expect((await app.scim('GET', '/Users')).status).toBe(200);
    const limited = await app.scim('POST', '/Users', { body: userBody('too-fast') });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(limited.body).toMatchObject({ schemas: [ERROR_SCHEMA], status: '429' });
    clock += 1_000;
    expect(await byUserName('too-fast')).toHaveLength(0);
    expect((await app.admin.faults()).injected.rateLimited).toBe(1);
  });

  it('retryAfterSeconds sets the Retry-After the app asks for', async () => {
    await app.admin.setFaults({ rateLimit: { requestsPerSecond: 1, retryAfterSeconds: 7 } });
    await app.scim('GET', '/Users');
    const limited = await app.scim('GET', '/Users');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
  });
});

describe('server errors', () => {
  it('failNext answers the next N SCIM requests 503, then the app works again', async () => {
    const view = await app.admin.setFaults({ failNext: 2, retryAfterSeconds: 3 });
    expect(view.remaining.failNext).toBe(2);
    const first = await app.scim('POST', '/Users', { body: userBody('first') });
    expect(first.status).toBe(503);
    expect(first.headers.get('retry-after')).toBe('3');
    expect(first.body).toMatchObject({ schemas: [ERROR_SCHEMA], status: '503' });
    expect((await app.scim('GET', '/Users')).status).toBe(503);
    expect((await app.scim('POST', '/Users', { body: userBody('third') })).status).toBe(201);
    expect(await byUserName('first')).toHaveLength(0);
    expect(await app.admin.faults()).toMatchObject({ remaining: { failNext: 0 }, injected: { failed: 2 } });
  });

  it('failNext is not used up by /health, /admin or unauthenticated requests', async () => {
    await app.admin.setFaults({ failNext: 1 });
    expect((await fetch(`${app.url}/health`)).status).toBe(200);
    expect((await app.scim('GET', '/Users', { token: 'wrong-token-value' })).status).toBe(401);
    expect((await app.admin.faults()).remaining.failNext).toBe(1);
    expect((await app.scim('GET', '/Users')).status).toBe(503);
  });

  it('errorRate 1 with errorStatus 500 fails every request with 500; errorRate 0 fails none', async () => {
    await app.admin.setFaults({ errorRate: 1, errorStatus: 500 });
    for (let i = 0; i < 3; i += 1) expect((await app.scim('GET', '/Users')).status).toBe(500);
    await app.admin.setFaults({ errorRate: 0 });
    expect((await app.scim('GET', '/Users')).status).toBe(200);
  });

  it('clearing the faults restores normal answers', async () => {
    await app.admin.setFaults({ errorRate: 1, latencyMs: 50, rateLimit: { requestsPerSecond: 1 } });
    await app.admin.clearFaults();
    for (let i = 0; i < 3; i += 1) expect((await app.scim('GET', '/Users')).status).toBe(200);
    expect((await app.admin.faults()).faults).toEqual({});
  });
});

describe('commit, then drop the connection', () => {
  it('a create is applied, the client sees a socket error, and the next write is answered', async () => {
    await app.admin.setFaults({ dropAfterCommitNext: 1 });
    const dropped = await fetch(`${app.scimUrl}/Users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${app.bearerToken}`, 'content-type': 'application/scim+json' },
      body: JSON.stringify(userBody('ghost', { externalId: 'E-GHOST' })),
    }).then(
      () => 'answered',
      (err: Error) => `${err.name}: ${String((err.cause as Error | undefined)?.message ?? err.message)}`,
    );
    expect(dropped).toMatch(/^TypeError: .*(closed|socket|reset)/i);
    expect(await byUserName('ghost')).toHaveLength(1);
    const writes = await app.admin.writes();
    expect(writes.at(-1)).toMatchObject({ operation: 'create', resourceType: 'User', externalId: 'E-GHOST' });
    expect((await app.scim('POST', '/Users', { body: userBody('ghost', { externalId: 'E-GHOST' }) })).status).toBe(409);
    expect(await app.admin.faults()).toMatchObject({ remaining: { dropAfterCommitNext: 0 }, injected: { dropped: 1 } });
  });

  it('patches and deletes are committed before their connections are dropped', async () => {
    const id = (await app.scim('POST', '/Users', { body: userBody('victim') })).body.id;
    await app.admin.setFaults({ dropAfterCommitNext: 2 });
    await expect(app.scim('PATCH', `/Users/${id}`, { body: patchOp({ op: 'replace', path: 'active', value: false }) })).rejects.toThrow();
    await expect(app.scim('DELETE', `/Users/${id}`)).rejects.toThrow();
    expect((await app.scim('GET', `/Users/${id}`)).status).toBe(404);
    const ops = (await app.admin.writes()).map((w) => w.operation);
    expect(ops.slice(-2)).toEqual(['patch', 'delete']);
  });

  it('a write that fails is answered and does not use up the fault', async () => {
    await app.scim('POST', '/Users', { body: userBody('taken') });
    await app.admin.setFaults({ dropAfterCommitNext: 1 });
    expect((await app.scim('POST', '/Users', { body: userBody('taken') })).status).toBe(409);
    expect((await app.scim('GET', '/Users')).status).toBe(200);
    expect((await app.admin.faults()).remaining.dropAfterCommitNext).toBe(1);
  });
});

describe('setting faults', () => {
  it('faults given at start are in effect from the first request', async () => {
    const faulty = await startTestScimApp({ faults: { failNext: 1 } });
    try {
      expect((await faulty.scim('GET', '/Users')).status).toBe(503);
      expect((await faulty.scim('GET', '/Users')).status).toBe(200);
    } finally {
      await faulty.close();
    }
  });

  it('invalid faults are a 400 that says what is wrong, and change nothing', async () => {
    await app.admin.setFaults({ latencyMs: 10 });
    for (const body of [{ errorRate: 2 }, { latencyMs: -1 }, { rateLimit: {} }, { surprise: true }]) {
      const res = await fetch(`${app.url}/admin/faults`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${app.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { detail: string }).detail).toMatch(/\S/);
    }
    expect((await app.admin.faults()).faults).toEqual({ latencyMs: 10 });
  });

  it('the admin API needs the admin token', async () => {
    const res = await fetch(`${app.url}/admin/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"failNext":5}' });
    expect(res.status).toBe(401);
    expect((await app.admin.faults()).remaining.failNext).toBe(0);
  });
});

describe('Retry-After kept or breached, per caller', () => {
  it('counts a request from a caller told to wait that came before its Retry-After passed, and requests during anyone\'s', async () => {
    const as = (caller: string) => ({ headers: { 'x-correlation-id': caller } });
    // Past the Retry-After of the tests before.
    clock += 60_000;
    const before = (await app.admin.faults()).retryAfter;
    await app.admin.setFaults({ rateLimit: { requestsPerSecond: 1, burst: 1, retryAfterSeconds: 5 } });
    expect((await app.scim('GET', '/Users', as('wf-a'))).status).toBe(200);
    const limited = await app.scim('GET', '/Users', as('wf-a'));
    expect(limited.headers.get('retry-after')).toBe('5');
    // 400 ms after the answer: sent with the answered request (a workflow's parallel steps), not a breach.
    clock += 400;
    expect((await app.scim('GET', '/Users', as('wf-a'))).status).toBe(429);
    expect((await app.admin.faults()).retryAfter.breaches).toBe(before.breaches);
    clock += 3_600;
    // wf-a comes back a second early: a breach; wf-b was never told to wait: only "during".
    await app.scim('GET', '/Users', as('wf-a'));
    await app.scim('GET', '/Users', as('wf-b'));
    const early = (await app.admin.faults()).retryAfter;
    expect(early.given - before.given).toBeGreaterThanOrEqual(1);
    expect(early.breaches - before.breaches).toBe(1);
    expect(early.breachingCallers).toContain('wf-a');
    expect(early.breachingCallers).not.toContain('wf-b');
    expect(early.duringAnyRetryAfter - before.duringAnyRetryAfter).toBe(3);
    // Cleared faults do not clear what the app asked for; past every window, nothing more is counted.
    await app.admin.clearFaults();
    clock += 60_000;
    await app.scim('GET', '/Users', as('wf-a'));
    const after = (await app.admin.faults()).retryAfter;
    expect(after.breaches).toBe(early.breaches);
    expect(after.duringAnyRetryAfter).toBe(early.duringAnyRetryAfter);
  });
});

describe('commit, then drop a share of the writes', () => {
  it('dropAfterCommitRate 1 drops every write after applying it, and reads are answered', async () => {
    await app.admin.setFaults({ dropAfterCommitRate: 1 });
    await expect(app.scim('POST', '/Users', { body: userBody('rated', { externalId: 'E-RATED' }) })).rejects.toThrow();
    await expect(app.scim('POST', '/Users', { body: userBody('rated-2') })).rejects.toThrow();
    expect(await byUserName('rated')).toHaveLength(1);
    expect((await app.admin.faults()).injected.dropped).toBe(2);
    await app.admin.setFaults({ dropAfterCommitRate: 0 });
    expect((await app.scim('POST', '/Users', { body: userBody('rated-3') })).status).toBe(201);
  });
});

describe('refused memberships, slow and lost deletes (the saga-undo-kill drill)', () => {
  it('refuseMembers answers adding the named users to the group 400 for good; other users, groups and removes are applied', async () => {
    const doomed = (await app.scim('POST', '/Users', { body: userBody('doomed', { externalId: 'E-DOOMED' }) })).body.id;
    const fine = (await app.scim('POST', '/Users', { body: userBody('fine', { externalId: 'E-FINE' }) })).body.id;
    const tools = (await app.scim('POST', '/Groups', { body: groupBody('tools') })).body.id;
    const staff = (await app.scim('POST', '/Groups', { body: groupBody('staff') })).body.id;
    await app.admin.setFaults({ refuseMembers: { group: 'Tools', externalIds: ['E-DOOMED'] } });
    const add = (group: string, user: string) => app.scim('PATCH', `/Groups/${group}`, { body: patchOp({ op: 'add', path: 'members', value: [{ value: user }] }) });
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const refused = await add(tools, doomed);
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({ schemas: [ERROR_SCHEMA], scimType: 'invalidValue' });
    }
    expect((await add(tools, fine)).status).toBe(204);
    expect((await add(staff, doomed)).status).toBe(204);
    expect((await app.scim('PATCH', `/Groups/${staff}`, { body: patchOp({ op: 'remove', path: `members[value eq "${doomed}"]` }) })).status).toBe(204);
    expect(((await app.scim('GET', `/Groups/${tools}`)).body.members as Array<{ value: string }>).map((m) => m.value)).toEqual([fine]);
    expect((await app.admin.faults()).injected.refused).toBe(2);
    await app.admin.setFaults({ refuseMembers: { group: 'tools', externalIds: ['E-DOOMED'], status: 409 } });
    expect((await add(tools, doomed)).status).toBe(409);
  });

  it('writeAnswerDelayMs answers writes late, reads at once; a write whose caller hung up meanwhile was applied', async () => {
    await app.admin.setFaults({ writeAnswerDelayMs: 300 });
    let started = performance.now();
    expect((await app.scim('GET', '/Users')).status).toBe(200);
    expect(performance.now() - started).toBeLessThan(290);
    // The caller gives up (a worker killed) while the create's answer waits: the user was made.
    const hangUp = new AbortController();
    const create = fetch(`${app.scimUrl}/Users`, { method: 'POST', signal: hangUp.signal, headers: { authorization: `Bearer ${app.bearerToken}`, 'content-type': 'application/scim+json' }, body: JSON.stringify(userBody('answer-lost')) });
    setTimeout(() => hangUp.abort(), 100);
    await expect(create).rejects.toThrow();
    expect(await byUserName('answer-lost')).toHaveLength(1);
    started = performance.now();
    expect((await app.scim('POST', '/Users', { body: userBody('answered-late') })).status).toBe(201);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('deleteLatencyMs slows DELETEs only; loseUserDeletes answers a user DELETE 204 and keeps the user', async () => {
    const id = (await app.scim('POST', '/Users', { body: userBody('kept') })).body.id;
    await app.admin.setFaults({ deleteLatencyMs: 300, loseUserDeletes: true });
    // The GET is not delayed: `delayed: 1` below counts the DELETE alone (no upper bound on a clock: a busy machine is slow).
    expect((await app.scim('GET', `/Users/${id}`)).status).toBe(200);
    const started = performance.now();
    expect((await app.scim('DELETE', `/Users/${id}`)).status).toBe(204);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect((await app.scim('GET', `/Users/${id}`)).status).toBe(200);
    expect((await app.admin.writes()).some((w) => w.operation === 'delete')).toBe(false);
    expect((await app.admin.faults()).injected).toMatchObject({ lost: 1, delayed: 1 });
    await app.admin.setFaults({});
    expect((await app.scim('DELETE', `/Users/${id}`)).status).toBe(204);
    expect((await app.scim('GET', `/Users/${id}`)).status).toBe(404);
  });
});

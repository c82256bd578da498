// A person's workflow never fails, on the real stack (Temporal, Kafka, PostgreSQL, the SCIM target
// app): an application's token revoked mid-life leaves the person's pending deletion and grant
// expiry in place and the workflow running, and the person converges once the token is back and an
// operator retries; an absurd `sequence` is held, nothing stored or applied, later ordinary events
// still apply, and `identity resequence` applies it; a burst of 300 updates loses none.
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { mintToken, type ApiRole, type JwtSettings } from '../../api/auth.js';
import { startApi, type ApiServer } from '../../api/server.js';
import { dataConverter } from '../../codec/data-converter.js';
import { getIdentity, queryAudit } from '../../store/index.js';
import { getState, identityWorkflowId, type IdentityState } from '../../workflows/messages.js';
import { Application, ProvisioningStatus } from '../../workflows/search-attributes.js';
import { hrEvent } from '../helpers/hr-events.js';
import { eventually, logger, startPipeline, type Pipeline } from '../helpers/pipeline.js';
import { grantThroughRequest } from '../helpers/request-grant.js';
import { writeChatPolicy } from '../helpers/policy-yaml.js';
import type { TestScimApp } from '../helpers/scim-app.js';
import { uniqueName } from '../helpers/unique.js';
import { connectTemporal } from '../../clients/temporal-connection.js';

const DELETION_DELAY_S = 40;
const MAX_JUMP = 1_000;

let p: Pipeline;
let chat: TestScimApp;
let connection: Connection;
let api: ApiServer;
const jwt: JwtSettings = { secret: new TextEncoder().encode(`never-fails-secret-${uniqueName('s')}-0123456789abcdef`), issuer: 'provisioner', audience: 'provisioner-api' };
beforeAll(async () => {
  const lifecycle = `{ moverGracePeriod: PT5S, leaverDeletionDelay: PT${DELETION_DELAY_S}S, personalDataRetention: P2Y, onLeave: keep, maxSequenceJump: ${MAX_JUMP} }`;
  p = await startPipeline({ appNames: ['chat'], policyDir: writeChatPolicy({ name: 'never-fails', owner: 'OWNER1', lifecycle }) });
  [chat] = p.apps as [TestScimApp];
  connection = await connectTemporal(p.cfg);
  const client = new Client({ connection, namespace: p.cfg.temporal.namespace, dataConverter: dataConverter(p.cfg.dataDir) });
  api = await startApi({ cfg: p.cfg, logger, client, store: p.store, port: 0, jwt });
}, 120_000);
afterAll(async () => {
  await api?.close();
  await connection?.close();
  await p?.close();
});

/** An operator's ask through the HTTP API, as `provisioner retry` and `provisioner identity resequence` make it. */
async function ask(kind: 'retry' | 'resequence', employeeId: string, roles: ApiRole[] = ['operator'], reason?: string) {
  const token = await mintToken(jwt, { sub: 'OPS1', roles, ttl: '10m' });
  const res = await fetch(`${api.url}/identities/${employeeId}/${kind}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(reason ? { reason } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

const auditActions = async (employeeId: string) => (await queryAudit(p.store.pool, p.store.keys.kek, { employeeId, limit: 500 })).map((r) => r.action);

const employee = (prefix: string) => uniqueName(prefix).replaceAll('.', '');
const send = (id: string, options: Parameters<typeof hrEvent>[1]) => p.produce([{ key: id, value: JSON.stringify(hrEvent(id, options)) }]);
const handleOf = (id: string) => p.ingress.client.workflow.getHandle(identityWorkflowId(id));
const stateUntil = (id: string, what: string, ok: (s: IdentityState) => boolean, timeoutMs?: number) =>
  eventually(`${id}: ${what}`, async () => {
    const s = await handleOf(id).query(getState);
    return ok(s) ? s : undefined;
  }, timeoutMs);

type Outcome = { changeId: string; eventId: string; sequence: number; eventType: string; status: string; reason?: string; steps: Array<{ app: string; action: string; outcome: string; detail?: string }> };
const outcomesOf = async (id: string): Promise<Outcome[]> => (await p.read(p.cfg.kafka.topics.outcomes)).filter((m) => m.key === id).map((m) => JSON.parse(m.value) as Outcome);
const outcomeWhere = (id: string, what: string, match: (o: Outcome) => boolean, timeoutMs?: number) => eventually(`${id}: ${what}`, async () => (await outcomesOf(id)).find(match), timeoutMs);

/** The SCIM token the test reads the app with (the app's, until a test rotates it). */
let scimToken: string | undefined;

async function userOf(employeeId: string): Promise<{ id: string; active: boolean } | undefined> {
  const res = await chat.scim('GET', `/Users?filter=${encodeURIComponent(`externalId eq "${employeeId}"`)}`, scimToken ? { token: scimToken } : {});
  if (res.status !== 200) throw new Error(`chat answered ${res.status} to the test's read`);
  return res.body.Resources?.[0];
}

describe("an application's token revoked mid-life", () => {
  it("leaves the person's pending deletion and grant expiry in place, and the person converges once the token is back", async () => {
    const id = employee('TR');
    await send(id, { sequence: 1 });
    await stateUntil(id, 'provisioned', (s) => s.status === 'provisioned');
    // A request's grant, ending soon, asked for through the ITSM as people do.
    const ticketId = employee('CHG');
    await grantThroughRequest(p, { employeeId: id, ticketId, app: 'chat', entitlementId: 'war-room', duration: 'PT15S' });
    await stateUntil(id, 'the grant with its expiry', (s) => (s.grants ?? []).some((g) => g.ticketId === ticketId) && s.pendingEvents === 0 && s.status === 'provisioned');

    await send(id, { type: 'hr.worker.terminated', sequence: 2, data: { status: 'terminated' } });
    const left = await stateUntil(id, 'deprovisioned, the deletion scheduled', (s) => s.status === 'deprovisioned' && s.scheduled.length > 0);
    expect(left.scheduled.map((s) => s.step.action)).toEqual(['deleteAccount']);
    expect((await userOf(id))?.active).toBe(false);

    // The application's admin revokes our token: every call now gets 401.
    const rotated = await chat.admin.rotateToken();
    scimToken = rotated;

    // The grant's expiry comes: its plan cannot read chat. The person's workflow keeps running.
    const expiry = await outcomeWhere(id, 'the expiry outcome', (o) => o.eventType === 'provisioner.grant.expired', 60_000);
    expect(expiry.status).toBe('action-required');
    expect(expiry.reason).toMatch(/AuthError: .*401|401/);
    const waiting = await stateUntil(id, 'the expiry waiting for its retry', (s) => s.retry !== undefined);
    expect(waiting.retry).toMatchObject({ eventType: 'provisioner.grant.expired', attempt: 1 });
    expect(waiting.scheduled.map((s) => s.step.action)).toEqual(['deleteAccount']);
    expect((await handleOf(id).describe()).status.name).toBe('RUNNING');

    // The deletion comes: it fails with 401 and waits again, the account still there.
    const deletion = await outcomeWhere(id, 'the failed deletion', (o) => o.steps.some((s) => s.action === 'deleteAccount'), 90_000);
    expect(deletion.status).toBe('failed');
    expect(deletion.reason).toContain(`provisioner retry ${id}`);
    const failed = await stateUntil(id, 'the deletion waiting again', (s) => s.scheduled.some((x) => x.attempt === 1));
    expect(failed.scheduled.map((s) => s.step.action)).toEqual(['deleteAccount']);
    expect(failed.accounts.chat).toBeDefined();
    expect(await userOf(id)).toBeDefined();
    expect((await handleOf(id).describe()).status.name).toBe('RUNNING');

    // The token is back (the connector re-reads its token file), and an operator retries.
    const tokenRef = p.connectorConfigs[0]!.type === 'scim' && p.connectorConfigs[0]!.auth.kind === 'bearer' ? p.connectorConfigs[0]!.auth.token : undefined;
    if (!tokenRef || !('file' in tokenRef)) throw new Error('the test app is configured with a bearer token file');
    writeFileSync(tokenRef.file, `${rotated}\n`);
    expect((await ask('retry', id, ['approver'])).status).toBe(403);
    const asked = await ask('retry', id, ['operator'], 'chat token rotated');
    expect(asked.status).toBe(202);
    expect(asked.body.retrying).toMatch(/provisioner.grant.expired.*failed scheduled steps deleteAccount/);
    expect(await auditActions(id)).toContain('identity.retry-requested');

    const converged = await stateUntil(id, 'converged after the retry', (s) => s.retry === undefined && s.scheduled.length === 0 && s.status === 'deprovisioned', 60_000);
    expect(converged.accounts).toEqual({});
    await eventually('the account deleted in chat', async () => ((await userOf(id)) === undefined ? true : undefined));
    const retried = await outcomeWhere(id, 'the retried expiry', (o) => o.eventType === 'provisioner.grant.expired' && o.status === 'succeeded');
    expect(retried.changeId).toMatch(/\/retry-1$/);
  }, 240_000);
});

describe('an absurd sequence', () => {
  it('is held (nothing stored or applied), later ordinary events apply, and identity resequence makes it the baseline', async () => {
    const id = employee('AS');
    await send(id, { sequence: 1 });
    await stateUntil(id, 'provisioned', (s) => s.status === 'provisioned');
    const absurd = 7_000_000;
    await send(id, { type: 'hr.worker.updated', sequence: absurd, data: { title: 'Renumbered' } });
    const held = await outcomeWhere(id, 'the held event', (o) => o.sequence === absurd);
    expect(held.status).toBe('action-required');
    expect(held.reason).toContain(`lifecycle.maxSequenceJump is ${MAX_JUMP}`);
    const state = await stateUntil(id, 'the held event shown', (s) => s.held !== undefined && s.status !== 'provisioning');
    expect(state).toMatchObject({ lastAppliedSequence: 1, status: 'provisioned', held: { sequence: absurd } });
    const stored = await getIdentity(p.store.pool, p.store.keys.kek, id);
    expect({ snapshot: stored?.snapshotSequence, applied: stored?.lastAppliedSequence }).toEqual({ snapshot: 1, applied: 1 });

    // Not frozen: the feed's next ordinary event applies.
    await send(id, { type: 'hr.worker.updated', sequence: 2, data: { title: 'Staff Engineer' } });
    expect((await outcomeWhere(id, 'sequence 2', (o) => o.sequence === 2)).status).toBe('succeeded');

    const accepted = await ask('resequence', id, ['operator'], 'HRIS renumbered');
    expect(accepted.status).toBe(202);
    expect(accepted.body.accepted).toContain(`#${absurd}`);
    const realigned = await stateUntil(id, 'the held snapshot applied', (s) => s.lastAppliedSequence === absurd && s.status === 'provisioned');
    expect(realigned.held).toBeUndefined();
    expect((await outcomeWhere(id, 'the resequenced change', (o) => o.sequence === absurd && o.status === 'succeeded')).changeId).toMatch(/\/resequenced$/);
    expect((await getIdentity(p.store.pool, p.store.keys.kek, id))?.lastAppliedSequence).toBe(absurd);
    // Nothing more is held: a second resequence is refused, and both are audited.
    const again = await ask('resequence', id);
    expect(again).toMatchObject({ status: 409, body: { reason: 'nothing-to-resequence' } });
    expect(await auditActions(id)).toEqual(expect.arrayContaining(['identity.resequenced', 'identity.resequence-refused']));
  }, 120_000);
});

describe('a burst of 300 updates for one person', () => {
  it('applies the last sequence and gives every event an outcome', async () => {
    const id = employee('B');
    await send(id, { sequence: 1 });
    await stateUntil(id, 'provisioned', (s) => s.status === 'provisioned');
    const BURST = 300;
    const sequences = Array.from({ length: BURST }, (_, i) => i + 2);
    await p.produce(sequences.map((sequence) => ({ key: id, value: JSON.stringify(hrEvent(id, { type: 'hr.worker.updated', sequence, data: { title: `Title ${sequence}` } })) })));
    const last = sequences.at(-1)!;
    await stateUntil(id, `sequence ${last} applied`, (s) => s.lastAppliedSequence === last && s.pendingEvents === 0 && s.status === 'provisioned', 180_000);
    const outcomes = await eventually('an outcome for every event of the burst', async () => {
      const all = (await outcomesOf(id)).filter((o) => o.sequence >= 2);
      return new Set(all.map((o) => o.eventId)).size >= BURST ? all : undefined;
    }, 60_000);
    const byEvent = new Map(outcomes.map((o) => [o.eventId, o]));
    expect([...byEvent.values()].map((o) => o.sequence).sort((a, b) => a - b)).toEqual(sequences);
    expect([...byEvent.values()].filter((o) => o.status !== 'succeeded' && o.status !== 'ignored')).toEqual([]);
    expect(byEvent.get(`${id}-${last}`)?.status).toBe('succeeded');
    for (const o of byEvent.values()) if (o.status === 'ignored') expect(o.reason).toMatch(/superseded by sequence|not newer/);

    // What the history demanded: count the runs (continue-as-new starts a new one) and the last run's length.
    // A run ends only by continuing as new (Temporal suggests it past its history limits): never failed.
    const runs: Array<{ status: string; historyLength: number }> = [];
    for await (const wf of p.ingress.client.workflow.list({ query: `WorkflowId="${identityWorkflowId(id)}"` })) runs.push({ status: wf.status.name, historyLength: wf.historyLength });
    expect(runs.filter((r) => r.status === 'RUNNING')).toHaveLength(1);
    expect(runs.filter((r) => r.status !== 'RUNNING').map((r) => r.status)).toEqual(runs.filter((r) => r.status !== 'RUNNING').map(() => 'CONTINUED_AS_NEW'));
    // The running run (after continue-as-new, the next one) says what its search attributes say.
    const [state, described] = await Promise.all([handleOf(id).query(getState), handleOf(id).describe()]);
    expect(described.status.name).toBe('RUNNING');
    expect(state.status).toBe('provisioned');
    expect(described.typedSearchAttributes.get(ProvisioningStatus)).toBe(state.status);
    expect([...(described.typedSearchAttributes.get(Application) ?? [])].sort()).toEqual(Object.keys(state.accounts).sort());
  }, 300_000);
});

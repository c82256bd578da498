// Decisions nobody can forge, on the real stack (Kafka → ingress → Temporal → worker → SCIM app →
// PostgreSQL): an approval decision on itsm.requests that the ITSM did not sign as it says is
// dead-lettered with its reason and audited, and an `accessGranted` signal sent straight to a
// person's workflow with the Temporal client is refused and audited; in neither case does the
// application hold anything. A vote sent straight to the access request workflow as a Temporal
// update counts for nothing (no receiver verified it), and a ticket's grant is bounded by what was
// approved: once per ticket, no later end. The ITSM's properly signed decision still grants.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApprovalActivities } from '../../activities/approvals.js';
import { EntitlementCatalog } from '../../activities/entitlement-catalog.js';
import { DEV_ITSM_KEY_ID } from '../../crypto/decision-signatures.js';
import { listDeadLetters } from '../../ingress/dead-letter-queue.js';
import { outcomeSchema, type Outcome } from '../../schemas/outcomes.js';
import { listGrants, queryAudit } from '../../store/index.js';
import { accessGranted, accessRequestWorkflowId, approve, getRequestState, type AccessGranted } from '../../workflows/approval-messages.js';
import { getState, identityWorkflowId } from '../../workflows/messages.js';
import { groupNamesOf } from '../helpers/groups.js';
import { hrEvent } from '../helpers/hr-events.js';
import { eventually, logger, startPipeline, type Pipeline } from '../helpers/pipeline.js';
import { writeChatPolicy } from '../helpers/policy-yaml.js';
import { uniqueName } from '../helpers/unique.js';
import { accessRequested, approvalDecided, revokeRequested, signed } from './fixtures/itsm-events.js';

const id = (prefix: string) => uniqueName(prefix).replaceAll('.', '');
const MANAGER = id('M');
const BYSTANDER = id('X');

const writePolicy = () =>
  writeChatPolicy({
    name: 'forged',
    owner: MANAGER,
    lifecycle: '{ moverGracePeriod: PT5S, leaverDeletionDelay: PT30S, personalDataRetention: P2Y, onLeave: keep }',
    approvals: ['{ id: manager-only, mode: any-of, approvers: [manager], timeout: PT120S }'],
    entitlements: ['{ id: incident-commanders, sensitivity: high, approval: manager-only }', '{ id: lunch-club }'],
  });

let p: Pipeline;
let catalog: EntitlementCatalog;
beforeAll(async () => {
  p = await startPipeline({ appNames: ['chat'], policyDir: writePolicy() });
  catalog = new EntitlementCatalog(p.worker.connectors);
  await p.produce([MANAGER, BYSTANDER].map((e) => ({ key: e, value: JSON.stringify(hrEvent(e, { data: { title: 'Approver' } })) })));
}, 120_000);
afterAll(async () => {
  await p?.close();
});

const groupsOf = (employeeId: string) => groupNamesOf(p, catalog, 'chat', employeeId);
const json = (value: unknown) => JSON.stringify(value);

async function hire(): Promise<string> {
  const employeeId = id('B');
  await p.produce([{ key: employeeId, value: json(hrEvent(employeeId, { data: { managerId: MANAGER } })) }]);
  await eventually(`${employeeId} provisioned`, async () => {
    const state = await p.ingress.client.workflow.getHandle(identityWorkflowId(employeeId)).query(getState).catch(() => undefined);
    return state && state.lastAppliedSequence >= 1 && state.status === 'provisioned' ? state : undefined;
  });
  return employeeId;
}

/** An ITSM access request on Kafka, awaiting the manager's approval. */
async function requestOnKafka(employeeId: string, entitlementId: string, duration?: string) {
  const ticketId = id('RITM');
  const event = accessRequested(ticketId, employeeId, { data: { entitlement: { app: 'chat', id: entitlementId }, duration } });
  await p.produceItsm([{ key: employeeId, value: json(event) }]);
  const handle = p.ingress.client.workflow.getHandle(accessRequestWorkflowId(ticketId));
  await eventually(`request/${ticketId} awaiting approval`, async () => ((await handle.query(getRequestState).catch(() => undefined))?.status === 'awaiting-approval' ? true : undefined));
  return { ticketId, handle, approvalId: `req-${ticketId}.1.1`, event };
}

/** The worker's grant check (activities/approvals.ts checkRequestGrant) on the real store, as the person's workflow runs it. */
async function checkGrant(employeeId: string, grant: AccessGranted) {
  const activities = createApprovalActivities({ policy: () => p.worker.policy, connectors: p.worker.connectors, store: p.store, logger, catalog });
  const env = new MockActivityEnvironment({ workflowExecution: { workflowId: identityWorkflowId(employeeId), runId: 'grant-check' } });
  return env.run(activities.checkRequestGrant, { employeeId, ...grant, approvalIds: [...grant.approvalIds] });
}

const lettersFor = (key: string, count: number) =>
  eventually(`${count} dead letter(s) for ${key}`, async () => {
    const list = (await listDeadLetters(p.cfg, p.cfg.kafka.topics.itsmRequests)).filter((l) => l.key === key);
    return list.length >= count ? list : undefined;
  });

async function outcomesOf(ticketId: string): Promise<Outcome[]> {
  return (await p.read(p.cfg.kafka.topics.outcomes)).map((m) => outcomeSchema.parse(JSON.parse(m.value))).filter((o) => o.ticketId === ticketId);
}

describe('decisions nobody can forge', () => {
  it('forged ITSM decisions are dead-lettered with their reason and audited, nothing is granted; the signed decision grants', async () => {
    const employeeId = await hire();
    const { ticketId, handle, approvalId } = await requestOnKafka(employeeId, 'incident-commanders');
    const decision = () => approvalDecided(approvalId, employeeId, { id: uniqueName('decision'), data: { approverId: MANAGER, ticketId, comment: 'ok' } });
    const otherKey = path.join(mkdtempSync(path.join(tmpdir(), 'not-the-itsm-')), 'key.jwk');
    writeFileSync(otherKey, json({ ...generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }), kid: DEV_ITSM_KEY_ID, alg: 'EdDSA' }));
    const unsigned = decision();
    const byAnotherKey = await signed(decision(), p.cfg, { keyFile: otherKey });
    // The ITSM authenticated BYSTANDER and signed their decision; the event claims it is the manager's.
    const forAnotherApprover = await signed(decision(), p.cfg, { approverId: BYSTANDER });
    await p.produceItsm([unsigned, byAnotherKey, forAnotherApprover].map((e) => ({ key: employeeId, value: json(e) })));

    const letters = await lettersFor(employeeId, 3);
    expect(letters.map((l) => l.reasonCode)).toEqual(['unsigned-decision', 'bad-signature', 'decision-mismatch']);
    expect(letters.map((l) => JSON.parse(l.value).id)).toEqual([unsigned.id, byAnotherKey.id, forAnotherApprover.id]);
    const audited = await eventually('the forged decisions audited', async () => {
      const rows = (await queryAudit(p.store.pool, p.store.keys.kek, { actor: 'system:itsm-ingress', limit: 1000 })).filter((r) => [unsigned.id, byAnotherKey.id, forAnotherApprover.id].includes(r.eventId ?? ''));
      return rows.length >= 3 ? rows : undefined;
    });
    expect(audited.map((r) => `${r.action} ${r.changes[0]?.outcome}`).sort()).toEqual(['approval.refused bad-signature', 'approval.refused decision-mismatch', 'approval.refused unsigned-decision']);
    expect(audited.every((r) => r.subjectEmployeeId === employeeId && r.personal?.approverId === MANAGER)).toBe(true);
    // Nothing reached the workflow: no vote, no approval, no grant.
    const state = await handle.query(getRequestState);
    expect(state.status).toBe('awaiting-approval');
    expect(state.approvals.find((a) => a.approvalId === approvalId)?.votes).toEqual([]);
    expect(await groupsOf(employeeId)).toEqual(['all-staff']);
    const votes = (await queryAudit(p.store.pool, p.store.keys.kek, { employeeId, action: 'approval.approved', limit: 100 }));
    expect(votes).toEqual([]);

    // The ITSM's own signature of the manager's decision: taken, and the grant reaches the app.
    await p.produceItsm([{ key: employeeId, value: json(await signed(decision(), p.cfg)) }]);
    expect((await handle.result()).status).toBe('granted');
    await eventually('the grant in the app', async () => ((await groupsOf(employeeId)).includes('incident-commanders') ? true : undefined));
    const granted = await eventually('the grant outcome', async () => (await outcomesOf(ticketId)).find((o) => o.status === 'succeeded'));
    expect(granted.steps).toContainEqual(expect.objectContaining({ action: 'grant', entitlementId: 'incident-commanders', outcome: 'applied' }));
  }, 180_000);

  it('an accessGranted signal sent straight to a person’s workflow is refused and audited, and the app holds nothing; the real grant of the ticket still comes through', async () => {
    const employeeId = await hire();
    const person = p.ingress.client.workflow.getHandle(identityWorkflowId(employeeId));
    // A ticket nobody filed, for an entitlement that needs no approval.
    await person.signal(accessGranted, { ticketId: id('FAKE'), eventId: 'forged-1', requesterId: employeeId, app: 'chat', entitlementId: 'lunch-club', approvalIds: [] });
    // A real ticket whose approval is still pending: the forger names its approval id.
    const { ticketId, handle, approvalId } = await requestOnKafka(employeeId, 'incident-commanders');
    await person.signal(accessGranted, { ticketId, eventId: 'forged-2', requesterId: employeeId, app: 'chat', entitlementId: 'incident-commanders', approvalIds: [approvalId] });

    const refused = await eventually('both grants refused', async () => {
      const s = await person.query(getState);
      return (s.refusedGrants?.length ?? 0) >= 2 ? s.refusedGrants! : undefined;
    });
    expect(refused.map((g) => `${g.entitlementId}: ${g.reason}`)).toEqual([
      expect.stringMatching(/^lunch-club: no access request for chat:lunch-club was assessed under ticket FAKE/),
      `incident-commanders: approval ${approvalId} of ticket ${ticketId} is pending, not approved`,
    ]);
    const audit = await queryAudit(p.store.pool, p.store.keys.kek, { employeeId, action: 'grant.refused', limit: 100, order: 'asc' });
    expect(audit.map((r) => [r.actor, r.eventId, r.changes[0]])).toEqual([
      ['system:grant-check', 'forged-1', { op: 'grant', app: 'chat', entitlement: 'lunch-club', outcome: 'refused' }],
      ['system:grant-check', 'forged-2', { op: 'grant', app: 'chat', entitlement: 'incident-commanders', outcome: 'refused' }],
    ]);
    const rejected = await eventually('the refusal outcome', async () => (await outcomesOf(ticketId)).find((o) => o.status === 'rejected'));
    expect(rejected.reason).toMatch(/^grant refused: approval .* is pending/);
    expect(await groupsOf(employeeId)).toEqual(['all-staff']);
    expect((await queryAudit(p.store.pool, p.store.keys.kek, { employeeId, action: 'grant.approved', limit: 100 }))).toEqual([]);

    // The manager's signed decision: the ticket's real grant is checked, found approved, and applied.
    const decision = await signed(approvalDecided(approvalId, employeeId, { id: uniqueName('decision'), data: { approverId: MANAGER, ticketId } }), p.cfg);
    await p.produceItsm([{ key: employeeId, value: json(decision) }]);
    expect((await handle.result()).status).toBe('granted');
    await eventually('the real grant in the app', async () => ((await groupsOf(employeeId)).includes('incident-commanders') ? true : undefined));
    expect(await groupsOf(employeeId)).not.toContain('lunch-club');
  }, 180_000);

  it('a vote sent straight to the access request workflow as a Temporal update in the manager’s name grants nothing: refused and audited, the app holds nothing', async () => {
    const employeeId = await hire();
    const { ticketId, handle, approvalId, event } = await requestOnKafka(employeeId, 'incident-commanders');
    // No API, no ITSM: the update names the manager, whom nobody authenticated.
    const taken = await handle.executeUpdate(approve, { args: [{ approvalId, approverId: MANAGER, channel: 'api' }] });
    expect(taken).toMatchObject({ approvalId, status: 'approved', gateStatus: 'approved' });
    const person = p.ingress.client.workflow.getHandle(identityWorkflowId(employeeId));
    const refused = await eventually('the grant refused', async () => (await person.query(getState)).refusedGrants?.find((g) => g.ticketId === ticketId));
    expect(refused.reason).toBe(`approval ${approvalId} of ticket ${ticketId} has 0 approving vote(s) the API or the ITSM ingress verified, and needs 1: a vote sent straight to the workflow does not count`);
    const audit = await queryAudit(p.store.pool, p.store.keys.kek, { employeeId, action: 'grant.refused', limit: 100 });
    expect(audit.map((r) => [r.actor, r.eventId, r.reason])).toEqual([['system:grant-check', event.id, `ticket ${ticketId}: ${refused.reason}`]]);
    // The vote itself is in the store (the workflow recorded it), without a verified decision behind it.
    expect(await queryAudit(p.store.pool, p.store.keys.kek, { employeeId: MANAGER, action: 'approval.decision-verified', limit: 1000 }).then((rows) => rows.filter((r) => r.personal?.approvalId === approvalId))).toEqual([]);
    expect(await groupsOf(employeeId)).toEqual(['all-staff']);
    expect(await queryAudit(p.store.pool, p.store.keys.kek, { employeeId, action: 'grant.approved', limit: 100 })).toEqual([]);
    expect((await listGrants(p.store.pool, employeeId, { includeRevoked: true })).filter((g) => g.provenance.kind === 'request')).toEqual([]);
  }, 180_000);

  it('a grant is bounded by what was approved: a longer end is refused, and a replay after the revoke grants nothing again', async () => {
    const employeeId = await hire();
    const { ticketId, handle, approvalId, event } = await requestOnKafka(employeeId, 'incident-commanders', 'PT1H');
    await p.produceItsm([{ key: employeeId, value: json(await signed(approvalDecided(approvalId, employeeId, { id: uniqueName('decision'), data: { approverId: MANAGER, ticketId } }), p.cfg)) }]);
    const result = await handle.result();
    expect(result.status).toBe('granted');
    await eventually('the grant in the app', async () => ((await groupsOf(employeeId)).includes('incident-commanders') ? true : undefined));
    const real: AccessGranted = { ticketId, eventId: event.id, requesterId: event.data.requesterId, app: 'chat', entitlementId: 'incident-commanders', expiresAt: result.expiresAt!, approvalIds: [approvalId] };

    // The same ticket's grant with an end a week later: refused for its end, and audited.
    const later = new Date(Date.parse(real.expiresAt!) + 7 * 86_400_000).toISOString();
    const longer = await checkGrant(employeeId, { ...real, eventId: 'forged-longer', expiresAt: later });
    expect(longer).toMatchObject({ verdict: 'refused', reason: expect.stringMatching(new RegExp(`^the grant ends at ${later}, later than ticket ${ticketId} was approved for \\(3600000 ms from `)) });
    const withoutEnd = await checkGrant(employeeId, { ...real, eventId: 'forged-no-end', expiresAt: undefined });
    expect(withoutEnd).toMatchObject({ verdict: 'refused', reason: `the grant has no end, and ticket ${ticketId} was approved for 3600000 ms` });

    // The ITSM revokes it; the app drops it.
    await p.produceItsm([{ key: employeeId, value: json(revokeRequested(ticketId, employeeId, { data: { entitlement: { app: 'chat', id: 'incident-commanders' } } })) }]);
    await eventually('the revoke in the app', async () => (!(await groupsOf(employeeId)).includes('incident-commanders') ? true : undefined), 60_000);
    // The very signal replayed: the person's workflow drops a ticket it already took, and the check
    // (which a replay meets once the workflow's remembered ids have rolled over) refuses it.
    const person = p.ingress.client.workflow.getHandle(identityWorkflowId(employeeId));
    await person.signal(accessGranted, real);
    const replayed = await checkGrant(employeeId, real);
    expect(replayed).toMatchObject({ verdict: 'refused', reason: `ticket ${ticketId} already brought a grant of chat:incident-commanders (live or ended): a ticket grants once` });
    const audit = await queryAudit(p.store.pool, p.store.keys.kek, { employeeId, action: 'grant.refused', limit: 100, order: 'asc' });
    expect(audit.map((r) => r.eventId)).toEqual(['forged-longer', 'forged-no-end', event.id]);
    expect((await person.query(getState)).refusedGrants ?? []).toEqual([]);
    expect(await groupsOf(employeeId)).toEqual(['all-staff']);
    const grants = (await listGrants(p.store.pool, employeeId, { includeRevoked: true })).filter((g) => g.provenance.kind === 'request');
    expect(grants).toHaveLength(1);
    expect(grants[0]!.expiresAt!.getTime()).toBeLessThanOrEqual(Date.now());
    expect((await queryAudit(p.store.pool, p.store.keys.kek, { employeeId, action: 'grant.approved', limit: 100 }))).toHaveLength(1);
  }, 180_000);
});

// Forged and self approvals: after the joiners have settled, the ITSM feed opens access requests
// for `drill-code`'s `admin` (granted only with the approval of a drill approver), and decides them:
// some by a real approver, signed with the ITSM's key (the control: these must be granted); some
// forged (a real approver's name, signed with a key the ITSM never had); some approved by the
// beneficiary themself, some by the requester (both signed by the ITSM, as an ITSM signs whatever
// its user clicked). Only the first may grant anything; every other decision must be refused and
// audited (`approval.refused`), and its request must still wait for a real approver.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { exportJWK, generateKeyPair } from 'jose';
import { decisionOf, signDecision } from '../../crypto/decision-signatures.js';
import { createKafka } from '../../kafka/client.js';
import type { Config } from '../../schemas/config.js';
import { queryAudit } from '../../store/index.js';
import { accessRequestWorkflowId, getRequestState } from '../../workflows/approval-messages.js';
import { DRILL_REQUESTABLE } from '../drill-policy.js';
import { groupSchema, scimList, userSchema } from '../oracle.js';
import { quiesce } from '../run-drill.js';
import { shuffle } from '../seeded-random.js';
import { drillTag } from '../workload.js';
import type { Evidence, Scenario, ScenarioContext } from '../scenario.js';

const KINDS = ['approved', 'forged', 'self', 'requester'] as const;
type Kind = (typeof KINDS)[number];
const SETTLE_MS = 3 * 60_000;

/** The ITSM's signing key and a forger's, as private JWK files; the JWKS the ingress trusts. */
type Keys = { itsm: string; forger: string; jwks: string; dir: string };
const keysOf = new WeakMap<object, Keys>();

async function privateJwk(dir: string, kid: string): Promise<{ file: string; publicJwk: Record<string, unknown> }> {
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const file = path.join(dir, `${kid}.jwk`);
  writeFileSync(file, JSON.stringify({ ...(await exportJWK(privateKey)), kid, alg: 'EdDSA' }), { mode: 0o600 });
  return { file, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' } };
}

type Ticket = { kind: Kind; ticketId: string; beneficiaryId: string; requesterId: string; approverId: string };
type Seen = { tickets: Ticket[]; granted: Set<string>; states: Map<string, string>; refused: number };
const seenOf = new WeakMap<ScenarioContext, Seen>();

async function awaitStates(ctx: ScenarioContext, tickets: readonly Ticket[], want: (t: Ticket, status: string | undefined) => boolean, timeoutMs = SETTLE_MS): Promise<Map<string, string>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = new Map<string, string>();
    for (const t of tickets) {
      const s = await ctx.pipeline.client.workflow.getHandle(accessRequestWorkflowId(t.ticketId)).query(getRequestState).catch(() => undefined);
      if (s) states.set(t.ticketId, s.status);
    }
    if (tickets.every((t) => want(t, states.get(t.ticketId))) || Date.now() > deadline) return states;
    await sleep(1_000);
  }
}

/** The people holding the requestable entitlement in its application. */
async function holders(ctx: ScenarioContext): Promise<Set<string>> {
  const app = ctx.pipeline.apps.find((a) => a.name === DRILL_REQUESTABLE.app)!;
  const users = await scimList(app, 'Users', userSchema);
  const group = (await scimList(app, 'Groups', groupSchema)).find((g) => g.displayName === DRILL_REQUESTABLE.id);
  const members = new Set(group?.members?.map((m) => m.value) ?? []);
  return new Set(users.filter((u) => members.has(u.id) && u.externalId).map((u) => u.externalId!));
}

function approvalsInject(keys: () => Keys) {
  return async (ctx: ScenarioContext): Promise<void> => {
    const { pipeline, workload, timeline } = ctx;
    await ctx.published;
    if (!(await quiesce(pipeline.client, workload.ledger, SETTLE_MS))) throw new Error('the joiners did not settle before the access requests');
    const active = [...workload.ledger.values()].filter((e) => e.status === 'active').map((e) => e.employeeId);
    // Four kinds of beneficiary and four other people as their requesters.
    if (active.length < 8) throw new Error(`the approvals drill needs at least 8 active joiners, not ${active.length}`);
    shuffle(active, ctx.random);
    // A share of the people per kind (at least one each), each with another person as requester.
    const perKind = Math.max(1, Math.floor(active.length / 8));
    const tag = drillTag(pipeline.id).slice(-8);
    const tickets: Ticket[] = KINDS.flatMap((kind, k) =>
      Array.from({ length: perKind }, (_, n) => {
        const beneficiaryId = active[k * perKind + n]!;
        const requesterId = active[(k * perKind + n + 4 * perKind) % active.length]!;
        const approverId = kind === 'self' ? beneficiaryId : kind === 'requester' ? requesterId : DRILL_REQUESTABLE.approvers[n % 2]!;
        return { kind, ticketId: `RITM${tag}${k}${String(n).padStart(3, '0')}`, beneficiaryId, requesterId, approverId };
      }),
    );
    const topic = pipeline.cfg.kafka.topics.itsmRequests;
    const producer = createKafka(pipeline.cfg, { clientId: `${pipeline.id}-itsm` }).producer({ idempotent: true });
    await producer.connect();
    const send = (events: Array<Record<string, unknown> & { subject: string }>) =>
      producer.send({ topic, acks: -1, messages: events.map((e) => ({ key: e.subject, value: JSON.stringify(e) })) });
    const envelope = (id: string, type: string, subject: string, data: Record<string, unknown>) => ({ specversion: '1.0', id, source: 'urn:itsm:drill', type, time: new Date().toISOString(), subject, datacontenttype: 'application/json', data });
    try {
      await send(tickets.map((t) => envelope(`${t.ticketId}-requested`, 'itsm.access.requested', t.beneficiaryId, { ticketId: t.ticketId, requesterId: t.requesterId, beneficiaryId: t.beneficiaryId, entitlement: { app: DRILL_REQUESTABLE.app, id: DRILL_REQUESTABLE.id }, justification: 'Drill: on-call rotation for the release week.', duration: 'P7D' })));
      timeline.push({ at: Date.now(), what: `${tickets.length} access requests for ${DRILL_REQUESTABLE.app}:${DRILL_REQUESTABLE.id} (${perKind} per kind: ${KINDS.join(', ')})` });
      const waiting = await awaitStates(ctx, tickets, (_t, s) => s === 'awaiting-approval');
      const notWaiting = tickets.filter((t) => waiting.get(t.ticketId) !== 'awaiting-approval');
      if (notWaiting.length > 0) throw new Error(`requests not awaiting approval: ${notWaiting.map((t) => `${t.ticketId} ${waiting.get(t.ticketId) ?? 'not started'}`).join(', ')}`);
      const { itsm, forger } = keys();
      const decisions = await Promise.all(
        tickets.map(async (t) => {
          const data = { approvalId: `req-${t.ticketId}.1.1`, approverId: t.approverId, decision: 'approved' as const, comment: 'Drill decision.', ticketId: t.ticketId };
          const event = envelope(`${t.ticketId}-decision`, 'itsm.approval.decided', t.beneficiaryId, data);
          const signature = await signDecision(decisionOf({ id: event.id, data }), { keyFile: t.kind === 'forged' ? forger : itsm, issuer: pipeline.cfg.itsm.issuer, audience: pipeline.cfg.itsm.audience });
          return { ...event, signature };
        }),
      );
      await send(decisions);
    } finally {
      await producer.disconnect();
    }
    timeline.push({ at: Date.now(), what: `decisions published: ${perKind} by a drill approver, ${perKind} forged, ${perKind} by the beneficiary, ${perKind} by the requester` });
    await ctx.tabletop(`${tickets.length} approval decisions published, ${3 * perKind} of them forged or by the beneficiary or requester`);
    // Until every decision has been dealt with: refused (audited), or taken (the request granted and
    // the grant applied in the app). The approved ones must be taken; the others, in a sound pipeline, refused.
    const decisionId = (t: Ticket) => `${t.ticketId}-decision`;
    let states = new Map<string, string>();
    let granted = new Set<string>();
    let refusedIds = new Set<string>();
    for (const deadline = Date.now() + SETTLE_MS; Date.now() < deadline; await sleep(1_000)) {
      states = await awaitStates(ctx, tickets, () => true, 0);
      granted = await holders(ctx);
      refusedIds = new Set((await queryAudit(pipeline.store.pool, pipeline.store.keys.kek, { action: 'approval.refused', limit: 10_000 })).map((r) => r.eventId ?? ''));
      const taken = (t: Ticket) => states.get(t.ticketId) === 'granted' && granted.has(t.beneficiaryId);
      if (tickets.every((t) => taken(t) || (t.kind !== 'approved' && refusedIds.has(decisionId(t))))) break;
    }
    const refused = tickets.filter((t) => refusedIds.has(decisionId(t))).length;
    timeline.push({ at: Date.now(), what: `${granted.size} hold ${DRILL_REQUESTABLE.id}; ${refused} of the decisions refused and audited` });
    seenOf.set(ctx, { tickets, granted, states, refused });
  };
}

async function evidence(ctx: ScenarioContext): Promise<Evidence> {
  const seen = seenOf.get(ctx);
  const of = (kind: Kind) => seen?.tickets.filter((t) => t.kind === kind) ?? [];
  const grantedOf = (kind: Kind) => of(kind).filter((t) => seen!.granted.has(t.beneficiaryId)).length;
  const stillWaiting = (kind: Kind) => of(kind).filter((t) => seen!.states.get(t.ticketId) === 'awaiting-approval').length;
  return {
    requestsPerKind: of('approved').length,
    approvedGranted: grantedOf('approved'),
    forgedGranted: grantedOf('forged'),
    selfGranted: grantedOf('self'),
    requesterGranted: grantedOf('requester'),
    forgedStillWaiting: stillWaiting('forged'),
    selfStillWaiting: stillWaiting('self'),
    requesterStillWaiting: stillWaiting('requester'),
    refusedDecisionsAudited: seen?.refused ?? 0,
    holdersOfTheEntitlement: seen?.granted.size ?? 0,
  };
}

/** The scenario; `trustForger`: the ingress's decision keys (itsm.decisionKeys) also trust the forger's key. */
export function approvalsOf(options: { trustForger: boolean }): Scenario {
  const holder = {};
  return {
    name: 'approvals',
    fault: 'approval decisions forged (signed with a key the ITSM never had), or approved by the beneficiary or the requester, for access that needs a drill approver',
    defaults: { joiners: 40, rate: 10, leaverShare: 0 },
    async prepare(base: Config) {
      // The ITSM's key as production configures it (itsm.decisionKeys: its JWKS), and a forger's.
      const dir = mkdtempSync(path.join(tmpdir(), 'drill-itsm-keys-'));
      const itsm = await privateJwk(dir, 'drill-itsm-1');
      const forger = await privateJwk(dir, 'drill-forger-1');
      const jwks = path.join(dir, 'itsm-decisions.jwks.json');
      writeFileSync(jwks, JSON.stringify({ keys: [itsm.publicJwk, ...(options.trustForger ? [forger.publicJwk] : [])] }));
      keysOf.set(holder, { itsm: itsm.file, forger: forger.file, jwks, dir });
      return {
        base: { ...base, itsm: { ...base.itsm, decisionKeys: jwks } },
        async undo() {
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
    inject: approvalsInject(() => keysOf.get(holder)!),
    evidence,
    // Every kind of decision reached the pipeline: the control granted, the others refused and audited.
    hit: (e) => Number(e.requestsPerKind) > 0 && Number(e.approvedGranted) > 0 && Number(e.refusedDecisionsAudited) > 0,
    tabletop: [
      'The refusals in the audit trail: `npx provisioner audit query --action approval.refused` (with the drill\'s config); each names its reason (bad-signature, beneficiary, requester)',
      'The forged decisions on the ITSM dead-letter topic (<the drill\'s itsm topic>.dlq), reason bad-signature; dashboard "Dead letters (last 30 minutes)"',
      'A request that was refused still waits for a real approver: `npx provisioner request <ticketId>`',
      'Who can sign decisions: the ITSM\'s keys in itsm.decisionKeys; a key there that the ITSM does not hold is a breach',
    ],
    checks: (e) => ({
      'every request a drill approver approved was granted': Number(e.approvedGranted) === Number(e.requestsPerKind),
      'no forged decision granted anything (each request still waits for a real approver)': Number(e.forgedGranted) === 0 && Number(e.forgedStillWaiting) === Number(e.requestsPerKind),
      'no approval by the beneficiary granted anything': Number(e.selfGranted) === 0 && Number(e.selfStillWaiting) === Number(e.requestsPerKind),
      'no approval by the requester granted anything': Number(e.requesterGranted) === 0 && Number(e.requesterStillWaiting) === Number(e.requestsPerKind),
      'every forged, self and requester decision refused and audited (approval.refused)': Number(e.refusedDecisionsAudited) === 3 * Number(e.requestsPerKind),
      'nobody else holds the entitlement': Number(e.holdersOfTheEntitlement) === Number(e.approvedGranted) + Number(e.forgedGranted) + Number(e.selfGranted) + Number(e.requesterGranted),
    }),
  };
}

export const approvals = approvalsOf({ trustForger: false });

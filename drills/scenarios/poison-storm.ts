// A storm of bad messages on the drill's HR topic, in bursts at random points of the workload,
// interleaved with its good events: one of each kind the ingress tells apart (empty, invalid JSON,
// not a CloudEvent, wrong types, an unknown type, a status contradicting the type, a subject that is
// not the snapshot's employee, over 64 KiB, a key that is not the subject; drills/poison-messages.ts).
// Each must be parked in `<topic>.dlq` under its reason code while the good events behind it on the
// same partition go on. And the HRIS's sequence faults on good people, which are valid events, not
// dead letters: an old snapshot sent again after a leaver's termination must be recorded and ignored
// (applied, it would give access back), and a termination whose sequence jumps past the policy's
// `maxSequenceJump` must be held for an operator (applied, a renumbered feed would lock people out).
import { setTimeout as sleep } from 'node:timers/promises';
import { createKafka } from '../../kafka/client.js';
import { consumerLag } from '../../kafka/consumer-lag.js';
import { listDeadLetters } from '../../ingress/dead-letter-queue.js';
import { getState, identityWorkflowId } from '../../workflows/messages.js';
import { scimList, userSchema } from '../oracle.js';
import { drillTag, type LedgerEntry } from '../workload.js';
import { poisonMessage, POISON_KINDS, type PoisonMessage } from '../poison-messages.js';
import type { Evidence, Scenario, ScenarioContext } from '../scenario.js';

const BURSTS = 5;
/** Each burst carries every kind twice. */
const PER_BURST = POISON_KINDS.length * 2;
const STALE_REPLAYS = 3;
const SEQUENCE_JUMPS = 2;
/** Further ahead than any policy's maxSequenceJump (the example's is 1,000,000). */
const ABSURD_SEQUENCE = 1_000_000_000;
/** How long the evidence waits for the group's lag to reach 0, and then for the sequence faults to be taken. */
const LAG_WAIT_MS = 5_000;
const SEQUENCE_WAIT_MS = 15_000;
/** The sequence faults need two people settled on their last event (one old hire, one jump); the rest is a bonus. */
const SETTLED_AT_LEAST = 2;
/** Once that many are, how long the faults wait for more. */
const MORE_SETTLED_MS = 10_000;

type Sent = { poison: Array<PoisonMessage & { partition: number; offset: string }>; replays: Array<{ employeeId: string; eventId: string }>; jumps: Array<{ employeeId: string; eventId: string }> };
const sent = new WeakMap<ScenarioContext, Sent>();

/** The drill's tag for its poison people (the workload's people are `D<tag>...`). */
const tagOf = (ctx: ScenarioContext) => drillTag(ctx.pipeline.id);

/** A snapshot of `employeeId`'s hire sent again as a new event: at `sequence`, as `type`. */
function resend(ctx: ScenarioContext, employeeId: string, sequence: number, type: 'hr.worker.hired' | 'hr.worker.terminated', eventId: string): { key: string; value: string } {
  const hire = ctx.workload.events.find((e) => e.employeeId === employeeId && e.sequence === 1)!;
  const event = JSON.parse(hire.value) as { data: Record<string, unknown> } & Record<string, unknown>;
  const now = new Date().toISOString();
  const status = type === 'hr.worker.terminated' ? 'terminated' : 'active';
  return { key: employeeId, value: JSON.stringify({ ...event, id: eventId, type, time: now, data: { ...event.data, sequence, effectiveAt: now, status } }) };
}

/** The people settled on their last event: once `want` are, or SETTLED_AT_LEAST are after MORE_SETTLED_MS, or whoever is after `timeoutMs`. */
async function settledPeople(ctx: ScenarioContext, want: number, timeoutMs: number): Promise<LedgerEntry[]> {
  const started = Date.now();
  for (;;) {
    const entries = [...ctx.ledger.values()];
    const states = await Promise.all(entries.map((e) => ctx.pipeline.client.workflow.getHandle(identityWorkflowId(e.employeeId)).query(getState).catch(() => undefined)));
    const settled = entries.filter((e, i) => states[i]?.lastAppliedSequence === e.lastSequence && states[i]?.status === (e.status === 'active' ? 'provisioned' : 'deprovisioned'));
    const waited = Date.now() - started;
    if (settled.length >= Math.min(want, entries.length) || (settled.length >= SETTLED_AT_LEAST && waited > MORE_SETTLED_MS) || waited > timeoutMs) return settled;
    await sleep(1_000);
  }
}

/**
 * Who gets which sequence fault. Each fault gets someone once two people are settled and one of
 * them is a stayer (the jumps are terminations: only a stayer has one to jump to). The jumps take
 * stayers from the end (one stayer is left for the replays when no leaver settled); the replays
 * take leavers first (an old hire applied would give them access back), then the stayers left.
 */
export function sequenceFaultPeople(settled: LedgerEntry[]): { replayed: LedgerEntry[]; stayers: LedgerEntry[] } {
  const leavers = settled.filter((e) => e.status === 'terminated');
  const actives = settled.filter((e) => e.status === 'active');
  const jumpCount = Math.min(SEQUENCE_JUMPS, leavers.length > 0 ? actives.length : Math.max(actives.length - 1, 0));
  return {
    stayers: actives.slice(actives.length - jumpCount),
    replayed: [...leavers, ...actives.slice(0, actives.length - jumpCount)].slice(0, STALE_REPLAYS),
  };
}

async function inject(ctx: ScenarioContext, settleTimeoutMs: number): Promise<void> {
  const { pipeline, timeline } = ctx;
  const topic = pipeline.cfg.kafka.topics.hrLifecycle;
  const record: Sent = { poison: [], replays: [], jumps: [] };
  sent.set(ctx, record);
  const producer = createKafka(pipeline.cfg, { clientId: `${pipeline.id}-poison`, retries: 10 }).producer({ idempotent: true });
  await producer.connect();
  try {
    // Burst b at a random point of the workload's b-th fifth: the first lands before most good events.
    const started = Date.now();
    for (let b = 0; b < BURSTS; b += 1) {
      const wait = started + (ctx.expectedMs * (b + ctx.random())) / BURSTS - Date.now();
      if (wait > 0) await sleep(wait);
      for (let i = 0; i < PER_BURST; i += 1) {
        const poison = poisonMessage(tagOf(ctx), b * PER_BURST + i);
        // One message a send: its partition and offset are how its dead letter is found.
        const [meta] = await producer.send({ topic, acks: -1, messages: [{ key: poison.key, value: poison.value }] });
        record.poison.push({ ...poison, partition: meta!.partition, offset: meta!.baseOffset! });
      }
      timeline.push({ at: Date.now(), what: `poison burst ${b + 1}: ${PER_BURST} bad messages (${POISON_KINDS.join(', ')})` });
    }
    // The sequence faults, after the workload, for people settled on their last event (a person's
    // first snapshot has no sequence to jump from, nor one to be older than).
    await ctx.published;
    const settled = await settledPeople(ctx, STALE_REPLAYS + SEQUENCE_JUMPS, settleTimeoutMs);
    const { replayed, stayers } = sequenceFaultPeople(settled);
    for (const r of replayed) record.replays.push({ employeeId: r.employeeId, eventId: `${r.employeeId}-1-resent` });
    for (const stayer of stayers) record.jumps.push({ employeeId: stayer.employeeId, eventId: `${stayer.employeeId}-renumbered` });
    const messages = [
      ...record.replays.map((r) => resend(ctx, r.employeeId, 1, 'hr.worker.hired', r.eventId)),
      ...record.jumps.map((j) => resend(ctx, j.employeeId, ABSURD_SEQUENCE, 'hr.worker.terminated', j.eventId)),
    ];
    if (messages.length > 0) await producer.send({ topic, acks: -1, messages });
    timeline.push({ at: Date.now(), what: `sequence faults: ${record.replays.length} old hires sent again, ${record.jumps.length} terminations at sequence ${ABSURD_SEQUENCE}` });
  } finally {
    await producer.disconnect();
  }
}

/** The group's lag on the HR topic, once it is back to 0 (or what it is after LAG_WAIT_MS). */
async function lagSettled(ctx: ScenarioContext): Promise<bigint> {
  const kafka = createKafka(ctx.pipeline.cfg, { clientId: `${ctx.pipeline.id}-poison-lag` });
  const deadline = Date.now() + LAG_WAIT_MS;
  for (;;) {
    const lag = (await consumerLag(kafka, ctx.pipeline.cfg.kafka.groups.hrIngress, [ctx.pipeline.cfg.kafka.topics.hrLifecycle])).reduce((n, l) => n + l.lag, 0n);
    if (lag === 0n || Date.now() > deadline) return lag;
    await sleep(1_000);
  }
}

/** The DLQ, the poison people's workflows and accounts, and the good people's sequence faults, as the servers show them. */
async function evidence(ctx: ScenarioContext): Promise<Evidence> {
  const { pipeline } = ctx;
  const record = sent.get(ctx) ?? { poison: [], replays: [], jumps: [] };
  const groupLag = await lagSettled(ctx);
  // A DLQ topic that is missing (or unreadable) holds no letters: the checks then fail.
  const letters = await listDeadLetters(pipeline.cfg, pipeline.cfg.kafka.topics.hrLifecycle).catch(() => []);
  const byAddress = new Map(letters.map((l) => [`${l.original.partition}/${l.original.offset}`, l]));
  const poisonAt = new Set(record.poison.map((p) => `${p.partition}/${p.offset}`));
  let parked = 0;
  let wrongReason = 0;
  for (const p of record.poison) {
    const letter = byAddress.get(`${p.partition}/${p.offset}`);
    if (letter?.reasonCode === p.reasonCode) parked += 1;
    else if (letter) wrongReason += 1;
  }
  // Whoever the poison named (its subject, and a mismatched key) must have no identity workflow.
  const named = [...new Set(record.poison.flatMap((p) => [p.subject, p.key]))];
  let poisonWorkflows = 0;
  for (let i = 0; i < named.length; i += 16) {
    const found = await Promise.all(named.slice(i, i + 16).map((id) => pipeline.client.workflow.getHandle(identityWorkflowId(id)).describe().then(() => true, () => false)));
    poisonWorkflows += found.filter(Boolean).length;
  }
  const tag = `P${tagOf(ctx)}`;
  let poisonAccounts = 0;
  for (const app of pipeline.apps) poisonAccounts += (await scimList(app, 'Users', userSchema)).filter((u) => u.externalId?.startsWith(tag)).length;
  const stateOf = (employeeId: string) => pipeline.client.workflow.getHandle(identityWorkflowId(employeeId)).query(getState).catch(() => undefined);
  // Quiescence waited for the workload's events only: the sequence faults may still be on their way
  // (once the group has read everything; a group still behind never brings them).
  let replays: boolean[] = [];
  let jumps: boolean[] = [];
  const deadline = groupLag === 0n ? Date.now() + SEQUENCE_WAIT_MS : 0;
  do {
    replays = await Promise.all(record.replays.map(async (r) => (await stateOf(r.employeeId))?.ignoredEvents.some((e) => e.eventId === r.eventId) ?? false));
    jumps = await Promise.all(record.jumps.map(async (j) => (await stateOf(j.employeeId))?.held?.eventId === j.eventId));
    if ([...replays, ...jumps].every(Boolean)) break;
    await sleep(1_000);
  } while (Date.now() < deadline);
  return {
    poisonSent: record.poison.length,
    kinds: [...new Set(record.poison.map((p) => p.kind))].length,
    deadLetters: letters.length,
    parkedWithTheirReason: parked,
    parkedWithAnotherReason: wrongReason,
    otherDeadLetters: letters.filter((l) => !poisonAt.has(`${l.original.partition}/${l.original.offset}`)).length,
    poisonWorkflows,
    poisonAccounts,
    staleReplaysSent: record.replays.length,
    staleReplaysIgnored: replays.filter(Boolean).length,
    sequenceJumpsSent: record.jumps.length,
    sequenceJumpsHeld: jumps.filter(Boolean).length,
    groupLagAtEnd: String(groupLag),
  };
}

/**
 * The scenario; `settleTimeoutMs`: how long the sequence faults wait for settled people (a pipeline
 * held up behind the poison may settle nobody; the faults are then not sent and their checks fail).
 */
export function poisonStormOf(options: { settleTimeoutMs: number }): Scenario {
  return {
    name: 'poison-storm',
    fault: `${BURSTS} bursts of ${PER_BURST} bad messages (${POISON_KINDS.length} kinds) on the HR topic during the workload, then stale and absurd sequences for good people`,
    defaults: { joiners: 60, rate: 10, leaverShare: 0.05 },
    inject: (ctx) => inject(ctx, options.settleTimeoutMs),
    evidence,
    // The ingress read the storm: poison reached the dead-letter topic.
    hit: (e) => Number(e.poisonSent) > 0 && Number(e.deadLetters) > 0,
    checks: (e) => ({
      'every poison message is in the DLQ with its reason': Number(e.parkedWithTheirReason) === Number(e.poisonSent) && Number(e.kinds) === POISON_KINDS.length,
      'nothing else is in the DLQ': Number(e.otherDeadLetters) === 0,
      'no poison reached a workflow or an application': Number(e.poisonWorkflows) === 0 && Number(e.poisonAccounts) === 0,
      "old snapshots sent again were recorded and ignored": Number(e.staleReplaysIgnored) === Number(e.staleReplaysSent) && Number(e.staleReplaysSent) > 0,
      'absurd sequence jumps were held for an operator': Number(e.sequenceJumpsHeld) === Number(e.sequenceJumpsSent) && Number(e.sequenceJumpsSent) > 0,
      "the ingress group's lag is back to 0": e.groupLagAtEnd === '0',
    }),
  };
}

export const poisonStorm = poisonStormOf({ settleTimeoutMs: 3 * 60_000 });

// The ITSM ingress on the real stack: itsm.requests on Kafka → ingress → Temporal. The workflows it
// talks to are stand-ins (fixtures/itsm-stub-workflows.ts) on this file's own task queue: the
// ingress only needs them to exist under their names and message contracts.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import { dataConverter } from '../../codec/data-converter.js';
import { DEV_ITSM_KEY_ID } from '../../crypto/decision-signatures.js';
import { listDeadLetters } from '../../ingress/dead-letter-queue.js';
import { createKafka, type Producer } from '../../kafka/client.js';
import { startIngress, type Ingress } from '../../runtime/ingress.js';
import { loadConfig, type Config } from '../../schemas/config.js';
import { ensureTopics } from '../../stack/kafka.js';
import { openStore, queryAudit, type Store } from '../../store/index.js';
import { accessRequestWorkflowId } from '../../workflows/approval-messages.js';
import { identityWorkflowId } from '../../workflows/messages.js';
import { EmployeeId, TicketId } from '../../workflows/search-attributes.js';
import { eventually, logger } from '../helpers/pipeline.js';
import { uniqueName } from '../helpers/unique.js';
import { accessRequested, approvalDecided, revokeRequested, signed } from './fixtures/itsm-events.js';
import { INELIGIBLE_APPROVER, stubDecisions, stubFinish, stubInput, stubRevocations } from './fixtures/itsm-stub-workflows.js';
import { connectTemporalNative } from '../../clients/temporal-connection.js';

let cfg: Config;
let taskQueue: string;
let store: Store;
let storeSchema: string;
let worker: Worker;
let workerRun: Promise<void>;
let ingress: Ingress;
let producer: Producer;

beforeAll(async () => {
  const base = loadConfig();
  const hrLifecycle = uniqueName('hr.lifecycle');
  const itsmRequests = uniqueName('itsm.requests');
  storeSchema = uniqueName('store').replaceAll('-', '_');
  cfg = {
    ...base,
    kafka: { ...base.kafka, topics: { ...base.kafka.topics, hrLifecycle, itsmRequests } },
    postgres: { ...base.postgres, schema: storeSchema },
    audit: { ...base.audit, checkpointsFile: path.join(mkdtempSync(path.join(tmpdir(), 'audit-')), 'checkpoints.jsonl') },
  };
  await ensureTopics(cfg, [hrLifecycle, `${hrLifecycle}.dlq`, itsmRequests, `${itsmRequests}.dlq`]);
  taskQueue = uniqueName('itsm');
  store = await openStore(cfg, { migrate: true, createKeys: true, logger });
  worker = await Worker.create({
    connection: await connectTemporalNative(cfg),
    namespace: cfg.temporal.namespace,
    taskQueue,
    workflowsPath: fileURLToPath(new URL('./fixtures/itsm-stub-workflows.ts', import.meta.url)),
    dataConverter: dataConverter(cfg.dataDir),
  });
  workerRun = worker.run();
  ingress = await startIngress(cfg, logger, { taskQueue, groupId: uniqueName('ingress'), itsm: { store } });
  producer = createKafka(cfg, { clientId: 'itsm-ingress-test' }).producer();
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect();
  if (ingress) {
    for await (const wf of ingress.client.workflow.list({ query: `TaskQueue="${taskQueue}" AND ExecutionStatus="Running"` })) {
      await ingress.client.workflow.getHandle(wf.workflowId, wf.runId).terminate('integration test finished').catch(() => undefined);
    }
    await ingress.shutdown();
  }
  worker?.shutdown();
  await workerRun;
  await store?.pool.query(`drop schema if exists "${storeSchema}" cascade`).catch(() => undefined);
  await store?.close();
});

const employee = () => uniqueName('E').replaceAll('.', '');
const ticket = () => uniqueName('RITM').replaceAll('.', '');
const json = (value: unknown) => JSON.stringify(value);
const produce = (messages: Array<{ key: string | null; value: string | null }>) => producer.send({ topic: cfg.kafka.topics.itsmRequests, messages });

async function lettersFor(key: string, count: number) {
  return eventually(`${count} dead letter(s) for ${key}`, async () => {
    const list = (await listDeadLetters(cfg, cfg.kafka.topics.itsmRequests)).filter((l) => l.key === key);
    return list.length >= count ? list : undefined;
  });
}

/** A poison message after the ones under test: once it is dead-lettered, the key's earlier messages were handled. */
async function drained(key: string, already: number): Promise<void> {
  await produce([{ key, value: `marker ${already}` }]);
  await lettersFor(key, already + 1);
}

const started = (ticketId: string) =>
  eventually(`request/${ticketId} started`, async () => {
    const description = await ingress.client.workflow.getHandle(accessRequestWorkflowId(ticketId)).describe();
    return description.runId ? description : undefined;
  });

describe('the ITSM ingress', () => {
  it('an access request starts request/<ticketId> with the ticket’s input and search attributes', async () => {
    const [ticketId, id] = [ticket(), employee()];
    const event = accessRequested(ticketId, id);
    await produce([{ key: id, value: json(event) }]);
    const description = await started(ticketId);
    expect(description.type).toBe('accessRequest');
    expect(description.taskQueue).toBe(taskQueue);
    expect(description.typedSearchAttributes.get(EmployeeId)).toBe(id);
    expect(description.typedSearchAttributes.get(TicketId)).toBe(ticketId);
    const input = await ingress.client.workflow.getHandle(accessRequestWorkflowId(ticketId)).query(stubInput);
    expect(input).toEqual({
      ticketId,
      requesterId: id,
      beneficiaryId: id,
      app: 'code',
      entitlementId: 'maintainers',
      justification: event.data.justification,
      duration: 'P30D',
      eventId: event.id,
      source: event.source,
      time: event.time,
    });
  });

  it('a duplicate request, while the workflow runs and after it closed, starts nothing new', async () => {
    const [ticketId, id] = [ticket(), employee()];
    const event = json(accessRequested(ticketId, id));
    await produce([{ key: id, value: event }]);
    const first = await started(ticketId);
    const handle = ingress.client.workflow.getHandle(accessRequestWorkflowId(ticketId));
    // The same event twice, and another event for the same ticket.
    await produce([{ key: id, value: event }, { key: id, value: event }, { key: id, value: json(accessRequested(ticketId, id, { id: `${ticketId}-resent`, data: { duration: 'P7D' } })) }]);
    await drained(id, 0);
    expect((await handle.describe()).runId).toBe(first.runId);
    expect((await handle.query(stubInput)).duration).toBe('P30D');

    await handle.signal(stubFinish);
    await handle.result();
    await produce([{ key: id, value: event }]);
    await drained(id, 1);
    const after = await handle.describe();
    expect(after.runId).toBe(first.runId);
    expect(after.status.name).toBe('COMPLETED');
  });

  it('poison messages go to itsm.requests.dlq with their reason, and the consumer carries on', async () => {
    const [bad, good, ticketId] = [employee(), employee(), ticket()];
    const notJson = '{"specversion":"1.0","type":"itsm.access.requested", not json';
    const invalid = accessRequested(ticket(), bad);
    delete (invalid.data as Record<string, unknown>).justification;
    const wrongKey = json(accessRequested(ticket(), good));
    await produce([
      { key: bad, value: notJson },
      { key: bad, value: json(invalid) },
      { key: bad, value: wrongKey },
      { key: bad, value: null },
      { key: good, value: json(accessRequested(ticketId, good)) },
    ]);
    await started(ticketId);
    const letters = await lettersFor(bad, 4);
    expect(letters.map((l) => l.reasonCode)).toEqual(['invalid-json', 'invalid-event', 'key-mismatch', 'empty']);
    expect(letters.map((l) => l.value)).toEqual([notJson, json(invalid), wrongKey, '']);
    expect(letters[1]!.reason).toMatch(/data\.justification/);
    expect(letters.every((l) => l.original.topic === cfg.kafka.topics.itsmRequests)).toBe(true);
  });

  it('a revoke for a person without an identity workflow is dead-lettered as unknown-beneficiary', async () => {
    const id = employee();
    await produce([{ key: id, value: json(revokeRequested(ticket(), id)) }]);
    const [letter] = await lettersFor(id, 1);
    expect(letter!.reasonCode).toBe('unknown-beneficiary');
    expect(letter!.reason).toContain(identityWorkflowId(id));
  });

  it('a revoke for a known person is signalled to their identity workflow', async () => {
    const [id, ticketId] = [employee(), ticket()];
    const handle = await ingress.client.workflow.start('identityStub', { taskQueue, workflowId: identityWorkflowId(id) });
    const event = revokeRequested(ticketId, id);
    await produce([{ key: id, value: json(event) }]);
    const revocations = await eventually('the revocation signal', async () => {
      const list = await handle.query(stubRevocations);
      return list.length > 0 ? list : undefined;
    });
    expect(revocations).toEqual([{ ticketId, eventId: event.id, requesterId: 'E00021', app: 'code', entitlementId: 'maintainers', source: event.source }]);
    await drained(id, 0);
  });

  it('a decision on an approval that does not exist is refused, audited and dead-lettered without blocking the partition', async () => {
    const [id, ticketId] = [employee(), ticket()];
    const unknownId = await signed(approvalDecided('not-one-of-ours-1', id, { id: uniqueName('decision') }), cfg);
    const noWorkflow = await signed(approvalDecided(`req-${ticket()}.1.1`, id, { id: uniqueName('decision') }), cfg);
    await produce([
      { key: id, value: json(unknownId) },
      { key: id, value: json(noWorkflow) },
      { key: id, value: json(accessRequested(ticketId, id)) },
    ]);
    await started(ticketId);
    const letters = await lettersFor(id, 2);
    expect(letters.map((l) => l.reasonCode)).toEqual(['unknown-approval', 'no-such-workflow']);
    const refused = await eventually('the refusals audited', async () => {
      const rows = (await queryAudit(store.pool, store.keys.kek, { actor: 'E00021', limit: 1000 })).filter((r) => r.action === 'approval.refused' && [unknownId.id, noWorkflow.id].includes(r.eventId ?? ''));
      return rows.length >= 2 ? rows : undefined;
    });
    expect(refused.map((r) => /refused \(([a-z-]+)\) via itsm/.exec(r.reason)?.[1]).sort()).toEqual(['no-such-workflow', 'unknown-approval']);
  });

  it('a decision is sent as an update once however often it is delivered; a refused one is audited and the offset moves on', async () => {
    const [id, ticketId] = [employee(), ticket()];
    await produce([{ key: id, value: json(accessRequested(ticketId, id)) }]);
    await started(ticketId);
    const handle = ingress.client.workflow.getHandle(accessRequestWorkflowId(ticketId));
    const approvalId = `req-${ticketId}.1.1`;
    const decision = await signed(approvalDecided(approvalId, id, { id: uniqueName('decision'), data: { ticketId } }), cfg);
    const ineligible = await signed(approvalDecided(approvalId, id, { id: uniqueName('decision'), data: { approverId: INELIGIBLE_APPROVER } }), cfg);
    await produce([{ key: id, value: json(decision) }, { key: id, value: json(decision) }, { key: id, value: json(ineligible) }, { key: id, value: json(decision) }]);
    await drained(id, 0); // the refusal went to no dead-letter topic: only the marker is there
    expect(await handle.query(stubDecisions)).toEqual([{ kind: 'approve', approvalId, approverId: 'E00021', comment: 'ok', channel: 'itsm', eventId: decision.id }]);
    const refused = (await queryAudit(store.pool, store.keys.kek, { actor: INELIGIBLE_APPROVER, action: 'approval.refused', limit: 1000 })).filter((r) => r.eventId === ineligible.id);
    expect(refused).toHaveLength(1);
    // Each verified decision is recorded once before it is sent (the grant check counts only such votes), however often it is delivered.
    const verified = (await queryAudit(store.pool, store.keys.kek, { actor: 'E00021', action: 'approval.decision-verified', limit: 1000 })).filter((r) => r.eventId === decision.id);
    expect(verified.map((r) => [r.reason, r.personal?.approvalId, r.personal?.decision, r.personal?.source])).toEqual([['approve verified via itsm', approvalId, 'approved', 'itsm']]);
    expect(refused[0]).toMatchObject({ action: 'approval.refused', workflowId: accessRequestWorkflowId(ticketId), reason: expect.stringMatching(/refused \(not-eligible\) via itsm/) });

    // Once the workflow has closed, a replayed decision is audited and skipped, not dead-lettered.
    await handle.signal(stubFinish);
    await handle.result();
    await produce([{ key: id, value: json(decision) }]);
    await drained(id, 1);
    expect((await lettersFor(id, 2)).map((l) => l.reasonCode)).toEqual(['invalid-json', 'invalid-json']);
  });
  it('a forged decision (unsigned, signed by another key, signed for another approver, stale) is dead-lettered with its reason, audited, and never reaches the workflow', async () => {
    const [id, ticketId] = [employee(), ticket()];
    await produce([{ key: id, value: json(accessRequested(ticketId, id)) }]);
    await started(ticketId);
    const handle = ingress.client.workflow.getHandle(accessRequestWorkflowId(ticketId));
    const approvalId = `req-${ticketId}.1.1`;
    const decision = () => approvalDecided(approvalId, id, { id: uniqueName('decision'), data: { ticketId } });
    const otherKey = path.join(mkdtempSync(path.join(tmpdir(), 'other-itsm-')), 'key.jwk');
    writeFileSync(otherKey, JSON.stringify({ ...generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }), kid: DEV_ITSM_KEY_ID, alg: 'EdDSA' }));
    const unsigned = decision();
    const byAnotherKey = await signed(decision(), cfg, { keyFile: otherKey });
    // Signed by the ITSM for INELIGIBLE_APPROVER, sent as E00021's decision.
    const anotherApprover = await signed(decision(), cfg, { approverId: INELIGIBLE_APPROVER });
    const stale = await signed(decision(), cfg, { issuedAt: new Date(Date.now() - (cfg.itsm.decisionMaxAgeMinutes + 5) * 60_000) });
    await produce([unsigned, byAnotherKey, anotherApprover, stale].map((e) => ({ key: id, value: json(e) })));
    const letters = await lettersFor(id, 4);
    expect(letters.map((l) => l.reasonCode)).toEqual(['unsigned-decision', 'bad-signature', 'decision-mismatch', 'stale-decision']);
    expect(letters[2]!.reason).toMatch(/another approver \(sub\)/);
    expect(await handle.query(stubDecisions)).toEqual([]);
    const refused = await eventually('the forged decisions audited', async () => {
      const rows = (await queryAudit(store.pool, store.keys.kek, { actor: 'system:itsm-ingress', limit: 1000 })).filter((r) => [unsigned, byAnotherKey, anotherApprover, stale].some((e) => e.id === r.eventId));
      return rows.length >= 4 ? rows : undefined;
    });
    expect(refused.map((r) => r.changes[0]?.outcome).sort()).toEqual(['bad-signature', 'decision-mismatch', 'stale-decision', 'unsigned-decision']);
    expect(refused.every((r) => r.action === 'approval.refused' && r.subjectEmployeeId === id && r.personal?.approverId === 'E00021')).toBe(true);
    // The same decision, signed as it says, is taken.
    const genuine = await signed(decision(), cfg);
    await produce([{ key: id, value: json(genuine) }]);
    await eventually('the signed decision taken', async () => ((await handle.query(stubDecisions)).length === 1 ? true : undefined));
  });
});

// `provisioner status` tells what needs someone, each count read from the server that knows it:
// people by ProvisioningStatus from Temporal's visibility, the ingress's lag and the pending dead
// letters from Kafka's offsets, pending approvals and the oldest unfinished change from the store.
import { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attentionLines, kafkaBacklog, storeBacklog } from '../../cli/commands/status-attention.js';
import { peopleNeedingAttention } from '../../clients/attention.js';
import { connectTemporal } from '../../clients/temporal-connection.js';
import { createKafka } from '../../kafka/client.js';
import { loadConfig, type Config } from '../../schemas/config.js';
import { ensureTopics } from '../../stack/kafka.js';
import { openApproval } from '../../store/approvals.js';
import { recordOutcome, recordPlan } from '../../store/changes.js';
import { upsertIdentity } from '../../store/identities.js';
import { ProvisioningStatus } from '../../workflows/search-attributes.js';
import { eventually } from '../helpers/pipeline.js';
import { uniqueName } from '../helpers/unique.js';
import { createTestStore, type TestStore } from './store/test-store.js';

const base = loadConfig();
const hr = uniqueName('attention-hr');
const itsm = uniqueName('attention-itsm');
const cfg: Config = {
  ...base,
  kafka: { ...base.kafka, topics: { ...base.kafka.topics, hrLifecycle: hr, itsmRequests: itsm }, groups: { hrIngress: uniqueName('attention-ingress'), itsmIngress: uniqueName('attention-ingress-itsm'), dlqRedrive: uniqueName('attention-redrive') } },
};
const taskQueue = uniqueName('attention');
let t: TestStore;
let client: Client;
const started: string[] = [];

beforeAll(async () => {
  t = await createTestStore('attention');
  await ensureTopics(cfg, [hr, `${hr}.dlq`, itsm, `${itsm}.dlq`]);
  client = new Client({ connection: await connectTemporal(cfg) });
});
afterAll(async () => {
  await Promise.all(started.map((id) => client?.workflow.getHandle(id).terminate('test finished').catch(() => undefined)));
  await client?.connection.close();
  await t?.drop();
});

describe('status: what needs someone', () => {
  it('counts running identity workflows by ProvisioningStatus for this task queue, and access requests awaiting approval', async () => {
    // No worker polls this queue: the workflows stay running with the status they were started with.
    const start = async (type: string, status: string) => {
      const workflowId = uniqueName(`attention-${status}`);
      await client.workflow.start(type, { taskQueue, workflowId, args: [], typedSearchAttributes: [{ key: ProvisioningStatus, value: status }] });
      started.push(workflowId);
    };
    await Promise.all([start('identityLifecycle', 'action-required'), start('identityLifecycle', 'action-required'), start('identityLifecycle', 'fence-held'), start('identityLifecycle', 'provisioned'), start('accessRequest', 'awaiting-approval')]);
    const people = await eventually('visibility counts the started workflows', async () => {
      const p = await peopleNeedingAttention(client, taskQueue);
      return p.byStatus['action-required'] === 2 && p.byStatus['fence-held'] === 1 && p.awaitingApproval === 1 ? p : undefined;
    }, 30_000);
    expect(people.byStatus).toEqual({ 'action-required': 2, failed: 0, 'fence-held': 1, 'fence-rejected': 0, 'waiting-for-application': 0 });

    const lines = attentionLines(cfg, taskQueue, { people });
    expect(lines.find((l) => l.includes('ACTION-REQUIRED'))).toMatch(/^people\s+2 ACTION-REQUIRED: http:\/\/.*\/workflows\?query=.*ProvisioningStatus%3D%22action-required%22/);
    expect(lines.find((l) => l.includes('FENCE-HELD'))).toMatch(/^people\s+1 FENCE-HELD/);
    expect(lines.some((l) => l.startsWith('requests') && l.includes('1 awaiting approval'))).toBe(true);
    // Kafka was not asked: the lines say it is unknown rather than clear.
    expect(lines).toContain('dlq, lag  unknown (Kafka did not answer)');
  });

  it("reads the ingress's lag and the dead letters no redrive has replayed from the offsets", async () => {
    const kafka = createKafka(cfg, { clientId: 'attention-test' });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: hr, messages: [0, 1, 2].map((i) => ({ partition: 0, key: `k${i}`, value: `v${i}` })) });
    await producer.send({ topic: `${hr}.dlq`, messages: [0, 1].map((i) => ({ partition: 1, key: `d${i}`, value: `dead${i}` })) });
    await producer.disconnect();
    // The ingress committed past the first event; a redrive replayed the first dead letter.
    const admin = kafka.admin();
    await admin.connect();
    await admin.setOffsets({ groupId: cfg.kafka.groups.hrIngress, topic: hr, partitions: [{ partition: 0, offset: '1' }] });
    await admin.setOffsets({ groupId: cfg.kafka.groups.dlqRedrive, topic: `${hr}.dlq`, partitions: [{ partition: 1, offset: '1' }] });
    await admin.disconnect();

    const backlog = await kafkaBacklog(cfg);
    expect(backlog.lag).toEqual([
      { topic: hr, group: cfg.kafka.groups.hrIngress, lag: 2 },
      { topic: itsm, group: cfg.kafka.groups.itsmIngress, lag: 0 },
    ]);
    expect(backlog.deadLetters).toEqual([
      { topic: hr, pending: 1 },
      { topic: itsm, pending: 0 },
    ]);
    const lines = attentionLines(cfg, taskQueue, { kafka: backlog });
    expect(lines).toContain(`dlq           1 PENDING dead letter(s) of ${hr}: \`provisioner dlq list --topic ${hr}\``);
    expect(lines).toContain(`lag       ${hr} 2, ${itsm} 0 (events not yet consumed by the ingress)`);
  });

  it('finds pending approvals and the oldest change planned without an outcome', async () => {
    const { store } = t;
    const system = { type: 'system', id: 'test' } as const;
    const snapshot = (employeeId: string) => ({ employeeId, sequence: 1, effectiveAt: new Date().toISOString(), status: 'active' as const, givenName: 'Ada', familyName: 'Lovelace', email: `${employeeId.toLowerCase()}@example.com` });
    expect(await storeBacklog(store.pool)).toEqual({ approvals: { pending: 0 } });
    for (const id of ['E7001', 'E7002']) await store.change((tx) => upsertIdentity(tx, snapshot(id)), { actor: system, action: 'identity.snapshot-stored', reason: 'test', subject: { employeeId: id } });
    const plan = (id: string) => ({ changeId: `identity/${id}/evt-1`, employeeId: id, eventId: 'evt-1', sequence: 1, policyVersion: 'p1', steps: [] });
    await store.change((tx) => recordPlan(tx, plan('E7001')), { actor: system, action: 'plan.recorded', reason: 'test', subject: { employeeId: 'E7001' } });
    await store.change((tx) => recordPlan(tx, plan('E7002')), { actor: system, action: 'plan.recorded', reason: 'test', subject: { employeeId: 'E7002' } });
    // E7001's change finished; E7002's did not.
    await store.change(
      (tx) => recordOutcome(tx, { ...plan('E7001'), eventType: 'hr.worker.hired', status: 'succeeded', workflowId: 'identity/E7001', completedAt: new Date().toISOString(), steps: [] }),
      { actor: system, action: 'outcome.recorded', reason: 'test', subject: { employeeId: 'E7001' } },
    );
    await store.change((tx) => openApproval(tx, { approvalId: 'appr-attention', beneficiaryId: 'E7001', ticketId: 'T-1', app: 'erp', entitlementId: 'payments', approverRule: 'manager' }), { actor: system, action: 'approval.opened', reason: 'test', subject: { employeeId: 'E7001' } });

    const backlog = await storeBacklog(store.pool);
    expect(backlog.approvals.pending).toBe(1);
    expect(backlog.oldestUnfinished).toMatchObject({ changeId: 'identity/E7002/evt-1', employeeId: 'E7002' });
    const lines = attentionLines(cfg, taskQueue, { store: backlog });
    expect(lines.some((l) => /^approvals\s+1 pending, the oldest \d+ s old: `provisioner approvals --all`$/.test(l))).toBe(true);
    expect(lines.some((l) => /^oldest {4}unfinished change planned \d+ s ago: `provisioner status E7002`$/.test(l))).toBe(true);
  });
});

// `provisioner drill`: the worker-kill drill on the real stack (two real worker processes SIGKILLed
// during the workload, two ingress processes) passes its oracle with evidence that the kills hit;
// and the oracle is not a drill that cannot fail: on a settled pipeline, a second account made
// behind its back, an event the pipeline never received, a leaver's access given back, an account
// nobody audited and a modified audit record are each counted.
import { createKafka } from '../../kafka/client.js';
import { afterAll, describe, expect, it } from 'vitest';
import { startDrillPipeline, type DrillPipeline } from '../../drills/drill-pipeline.js';
import { runOracle } from '../../drills/oracle.js';
import { quiesce, runDrill } from '../../drills/run-drill.js';
import { workerKill } from '../../drills/scenarios/worker-kill.js';
import { buildWorkload, publishWorkload, terminate } from '../../drills/workload.js';
import { loadConfig } from '../../schemas/config.js';
import { logger } from '../helpers/pipeline.js';

describe('drill worker-kill', () => {
  it('passes: no duplicate, missing, lost or unaudited, the chain whole, and the kills hit', async () => {
    // As a tabletop exercise: the drill stops at its steps and at the first kill (here at once).
    const steps: string[] = [];
    const tabletop = async (step: { title: string }) => void steps.push(step.title);
    const report = await runDrill(loadConfig(), logger, workerKill, { joiners: 16, rate: 8, kills: 2, seed: 7, ingresses: 1, tabletop });
    expect(report.quiescent).toBe(true);
    expect(report.oracle.counts).toEqual({ duplicates: 0, missing: 0, shouldBeGone: 0, lost: 0, unaudited: 0 });
    expect(report.oracle.chain.ok).toBe(true);
    expect(report.oracle.people).toBe(16);
    expect(report.evidence.kills).toBe(2);
    expect(report.faultHit).toBe(true);
    expect(report.passed).toBe(true);
    expect(report.timeline.filter((t) => t.what.startsWith('SIGKILL worker'))).toHaveLength(2);
    expect(steps).toHaveLength(4);
    expect(steps[0]).toMatch(/^drill worker-kill is about to start: /);
    expect(steps[1]).toMatch(/^worker \d was SIGKILLed \(the first of 2 kills/);
    expect(steps[2]).toMatch(/^the workload is published and the faults are over/);
    expect(steps[3]).toBe("the oracle's verdict: PASSED (duplicates 0, missing 0, shouldBeGone 0, lost 0, unaudited 0)");
    // The report says where its metrics come from (the suite runs no Prometheus: how to get them).
    expect(report.metrics.lines.join('\n')).toMatch(report.metrics.prometheus ? /^from Prometheus / : /stack up prometheus/);
    expect(report.publishing.stalls).toBe(0);
  }, 300_000);
});

describe('the drill oracle catches what a broken pipeline leaves', () => {
  let pipeline: DrillPipeline | undefined;
  afterAll(async () => pipeline?.close());

  it('counts a duplicate, a lost event, access that should be gone, an unaudited account and a modified audit record', async () => {
    pipeline = await startDrillPipeline(loadConfig(), logger, { scenario: 'oracle-check', workers: 1, ingresses: 1 });
    const workload = buildWorkload({ drillId: pipeline.id, joiners: 12, leaverShare: 0.5, seed: 3 });
    const producer = createKafka(pipeline.cfg).producer();
    await producer.connect();
    await publishWorkload(producer, pipeline.cfg.kafka.topics.hrLifecycle, workload, 50);
    await producer.disconnect();
    expect(await quiesce(pipeline.client, workload.ledger, 240_000)).toBe(true);
    const clean = await runOracle({ ledger: workload.ledger, apps: pipeline.apps, client: pipeline.client, store: pipeline.store });
    expect(clean.counts).toEqual({ duplicates: 0, missing: 0, shouldBeGone: 0, lost: 0, unaudited: 0 });
    expect(clean.chain.ok).toBe(true);

    const [chat] = pipeline.apps;
    const scim = async (method: string, route: string, body?: unknown) => {
      const res = await fetch(`${chat!.scimUrl}${route}`, { method, headers: { authorization: `Bearer ${chat!.token}`, 'content-type': 'application/scim+json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
      if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${await res.text()}`);
      const text = await res.text();
      return (text ? JSON.parse(text) : {}) as { id: string; Resources?: Array<{ id: string }> };
    };
    // A leaver the pipeline surely provisioned and then disabled: an active person terminated now (a
    // workload leaver whose hire and termination were taken together never had an account).
    const leaver = [...workload.ledger.values()].filter((e) => e.status === 'active').at(-1)!;
    const termination = terminate(workload, [leaver.employeeId]);
    await producer.connect();
    await producer.send({ topic: pipeline.cfg.kafka.topics.hrLifecycle, messages: termination.map((e) => ({ key: e.key, value: e.value })) });
    await producer.disconnect();
    expect(await quiesce(pipeline.client, workload.ledger, 240_000)).toBe(true);
    const leaverAccount = (await scim('GET', `/Users?filter=${encodeURIComponent(`externalId eq "${leaver.employeeId}"`)}`)).Resources![0]!;
    const active = [...workload.ledger.values()].filter((e) => e.status === 'active');
    // A connector that is not idempotent: a second account created for one person (this app refuses
    // two accounts with one externalId at a time, so the first goes; its write log keeps both creates).
    const first = (await scim('GET', `/Users?filter=${encodeURIComponent(`externalId eq "${active[0]!.employeeId}"`)}`)).Resources![0]!;
    await fetch(`${chat!.scimUrl}/Users/${first.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${chat!.token}` } });
    await scim('POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `second-${active[0]!.employeeId}@drill.example.com`, externalId: active[0]!.employeeId });
    // A leaver's account enabled again behind the pipeline's back.
    await scim('PATCH', `/Users/${leaverAccount.id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'active', value: true }] });
    // An event the HRIS sent that never reached the pipeline (and an account for someone nobody provisioned).
    const ledger = new Map(workload.ledger);
    ledger.set('DLOSTEVENT00001', { employeeId: 'DLOSTEVENT00001', lastSequence: 1, status: 'active', eventIds: ['DLOSTEVENT00001-1'] });
    await scim('POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'dlostevent00001@drill.example.com', externalId: 'DLOSTEVENT00001' });
    // A record of the trail modified in place.
    const client = await pipeline.store.pool.connect();
    try {
      await client.query('set session_replication_role = replica');
      await client.query(`update audit_records set body = replace(body, '"action"', '"action" ') where seq = 5`);
    } finally {
      await client.query('set session_replication_role = origin');
      client.release();
    }

    const broken = await runOracle({ ledger, apps: pipeline.apps, client: pipeline.client, store: pipeline.store });
    expect(broken.counts.duplicates).toBe(1);
    expect(broken.examples.duplicates).toEqual([`drill-chat:${active[0]!.employeeId}`]);
    expect(broken.counts.shouldBeGone).toBe(1);
    expect(broken.counts.lost).toBe(1);
    expect(broken.examples.lost).toEqual(['DLOSTEVENT00001']);
    // The lost person has an account nobody audited in chat, and no account in code.
    expect(broken.examples.unaudited).toEqual(['drill-chat:DLOSTEVENT00001']);
    // ... and the recreated account lost its groups.
    expect(broken.examples.missing.sort()).toEqual([`drill-chat:${active[0]!.employeeId}`, 'drill-chat:DLOSTEVENT00001', 'drill-code:DLOSTEVENT00001'].sort());
    expect(broken.chain.ok).toBe(false);
    expect(broken.chain.problem).toMatch(/^modified at 5$/);
  }, 600_000);
});

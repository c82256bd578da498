// The ingress-kill drill on the real stack: two real ingress processes SIGKILLed while their group
// is behind its commits pass the oracle (whatever Temporal received twice, the workflows' sequence
// dedup absorbs). And the broken variant the issue names: a consumer in
// the group that commits a batch's offsets BEFORE handing its events over, then crashes; the real
// ingress that takes over resumes past what was never handed over, and the oracle counts those
// people lost (and their accounts missing).
import { afterAll, describe, expect, it } from 'vitest';
import { signalHrEvent } from '../../clients/identity.js';
import { startDrillPipeline, type DrillPipeline } from '../../drills/drill-pipeline.js';
import { runOracle } from '../../drills/oracle.js';
import { quiesce, runDrill } from '../../drills/run-drill.js';
import { ingressKill } from '../../drills/scenarios/ingress-kill.js';
import { buildWorkload, publishWorkload } from '../../drills/workload.js';
import { createHrConsumer, judge, type HrConsumer } from '../../ingress/hr-consumer.js';
import { createKafka, type KafkaMessage } from '../../kafka/client.js';
import { loadConfig } from '../../schemas/config.js';
import { logger } from '../helpers/pipeline.js';

describe('drill ingress-kill', () => {
  it('passes: no duplicate, missing, lost or unaudited, the chain whole, every kill while the group was behind', async () => {
    const report = await runDrill(loadConfig(), logger, ingressKill, { joiners: 20, rate: 6, kills: 2, seed: 7, workers: 1 });
    expect(report.quiescent).toBe(true);
    expect(report.oracle.counts).toEqual({ duplicates: 0, missing: 0, shouldBeGone: 0, lost: 0, unaudited: 0 });
    expect(report.oracle.chain.ok).toBe(true);
    expect(report.oracle.people).toBe(20);
    // A kill is skipped when the group stays caught up; each one that came, came while it was behind.
    expect(Number(report.evidence.kills)).toBeGreaterThan(0);
    expect(report.evidence.killsBehind).toBe(report.evidence.kills);
    // Temporal received every event, some of them maybe twice (a kill between hand-over and commit).
    expect(report.evidence.eventsPublished).toBe(report.parameters.events);
    expect(Number(report.evidence.redeliveredSignals)).toBeGreaterThanOrEqual(0);
    expect(report.evidence.groupLagAtEnd).toBe('0');
    expect(report.faultHit).toBe(true);
    expect(report.passed).toBe(true);
    expect(report.timeline.filter((t) => t.what.startsWith('SIGKILL ingress'))).toHaveLength(Number(report.evidence.kills));
  }, 300_000);
});

describe('an ingress that commits before it hands over loses events, and the oracle counts them', () => {
  let pipeline: DrillPipeline | undefined;
  let ingress: HrConsumer | undefined;
  afterAll(async () => {
    await ingress?.stop();
    await pipeline?.close();
  });

  it('counts every person whose last event was committed but never reached their workflow', async () => {
    pipeline = await startDrillPipeline(loadConfig(), logger, { scenario: 'commit-first', workers: 1, ingresses: 0 });
    const { cfg, client } = pipeline;
    const topic = cfg.kafka.topics.hrLifecycle;
    const workload = buildWorkload({ drillId: pipeline.id, joiners: 24, leaverShare: 0.2, seed: 5 });
    const producer = createKafka(cfg).producer();
    await producer.connect();
    await publishWorkload(producer, topic, workload, 100);
    await producer.disconnect();

    // The defect: offsets committed first, then the events handed over; it crashes after two.
    const HANDED_BEFORE_CRASH = 2;
    const dropped: KafkaMessage[] = [];
    let handed = 0;
    let crashed = false;
    let crash!: () => void;
    const crashedNow = new Promise<void>((r) => (crash = r));
    const broken = createKafka(cfg, { clientId: `${pipeline.id}-commit-first` }).consumer({ groupId: cfg.kafka.groups.hrIngress });
    await broken.connect();
    await broken.subscribe({ topic, fromBeginning: true });
    await broken.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch }) => {
        if (crashed || batch.messages.length <= HANDED_BEFORE_CRASH) return;
        await broken.commitOffsets([{ topic, partition: batch.partition, offset: (BigInt(batch.messages.at(-1)!.offset) + 1n).toString() }]);
        for (const message of batch.messages) {
          if (handed === HANDED_BEFORE_CRASH) {
            dropped.push(message);
            continue;
          }
          const verdict = judge(message);
          if (verdict.ok) await signalHrEvent(client, cfg.temporal.taskQueue, verdict.event);
          handed += 1;
        }
        crashed = true;
        crash();
      },
    });
    await crashedNow;
    await broken.disconnect();
    expect(dropped.length).toBeGreaterThan(0);

    // The real ingress takes the group over and resumes from the committed offsets.
    ingress = createHrConsumer({ cfg, client, logger });
    await ingress.start();
    const droppedEvents = new Set(dropped.map((m) => (JSON.parse(m.value!.toString()) as { id: string }).id));
    const lostPeople = [...workload.ledger.values()].filter((e) => droppedEvents.has(e.eventIds.at(-1)!)).map((e) => e.employeeId);
    expect(lostPeople.length).toBeGreaterThan(0);
    // Everyone else settles; the lost never will.
    const others = new Map([...workload.ledger].filter(([id]) => !lostPeople.includes(id)));
    expect(await quiesce(client, others, 120_000)).toBe(true);

    const result = await runOracle({ ledger: workload.ledger, apps: pipeline.apps, client, store: pipeline.store });
    expect(result.counts.lost).toBe(lostPeople.length);
    for (const who of result.examples.lost) expect(lostPeople).toContain(who);
    expect(result.counts.duplicates).toBe(0);
    const lostJoiners = lostPeople.filter((id) => workload.ledger.get(id)!.status === 'active');
    expect(result.counts.missing).toBeGreaterThanOrEqual(lostJoiners.length);
  }, 300_000);
});

// Bad input at the Kafka boundary, on the real stack: a 1 MiB event, a termination that says the
// person is active, an access request for P9999999Y and a name with a bidi override each land on
// their dead-letter topic with their reason, and a valid event behind them, on the same key, is
// still processed: nothing lost, nothing frozen.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listDeadLetters } from '../../ingress/dead-letter-queue.js';
import { MAX_EVENT_BYTES } from '../../schemas/events.js';
import { accessRequestWorkflowId } from '../../workflows/approval-messages.js';
import { hrEvent } from '../helpers/hr-events.js';
import { eventually, startPipeline, type Pipeline } from '../helpers/pipeline.js';
import { uniqueName } from '../helpers/unique.js';
import { accessRequested } from './fixtures/itsm-events.js';

let p: Pipeline;
beforeAll(async () => {
  p = await startPipeline({ appNames: ['chat'] });
});
afterAll(async () => {
  await p?.close();
});

const employee = () => uniqueName('E').replaceAll('.', '');
const json = (value: unknown) => JSON.stringify(value);

async function letterFor(topic: string, key: string) {
  return eventually(`a dead letter for ${key} on ${topic}.dlq`, async () => (await listDeadLetters(p.cfg, topic)).find((l) => l.key === key));
}

async function provisioned(employeeId: string) {
  return eventually(`${employeeId} provisioned in chat`, async () => {
    const res = await p.apps[0]!.scim('GET', `/Users?filter=${encodeURIComponent(`externalId eq "${employeeId}"`)}`);
    return res.body.Resources?.length === 1 ? res.body.Resources[0] : undefined;
  });
}

describe('bad input at the Kafka boundary', () => {
  it('dead-letters each bad event with its reason, and the valid event behind it on the same key is processed', async () => {
    const hr = p.cfg.kafka.topics.hrLifecycle;
    const itsm = p.cfg.kafka.topics.itsmRequests;
    const [big, contradictory, bidi, requester] = [employee(), employee(), employee(), employee()];
    // 1 MiB less 2 KiB: the broker refuses a full 1 MiB value itself (message.max.bytes defaults to 1048588 with the batch overhead).
    const pad = 'x'.repeat(1024 * 1024 - 2048);
    const bigEvent = json(hrEvent(big, { data: { extensions: { pad } } }));
    expect(Buffer.byteLength(bigEvent)).toBeGreaterThan(1000 * 1024);

    await p.produce([
      { key: big, value: bigEvent },
      { key: contradictory, value: json(hrEvent(contradictory, { type: 'hr.worker.terminated', data: { status: 'active' } })) },
      { key: bidi, value: json(hrEvent(bidi, { data: { givenName: 'Ada\u202Eecalevol' } })) },
    ]);
    const ticketId = uniqueName('RITM').replaceAll('.', '');
    await p.produceItsm([{ key: requester, value: json(accessRequested(ticketId, requester, { data: { duration: 'P9999999Y' } })) }]);

    const [tooLarge, terminated, override, forever] = await Promise.all([
      letterFor(hr, big),
      letterFor(hr, contradictory),
      letterFor(hr, bidi),
      letterFor(itsm, requester),
    ]);
    expect(tooLarge).toMatchObject({ reasonCode: 'too-large', reason: expect.stringMatching(new RegExp(`over the ${MAX_EVENT_BYTES}-byte limit`)) });
    expect(terminated).toMatchObject({ reasonCode: 'invalid-event', reason: expect.stringMatching(/must have status "terminated", not "active"[\s\S]*at data\.status/) });
    expect(override).toMatchObject({ reasonCode: 'invalid-event', reason: expect.stringMatching(/contains U\+202E[\s\S]*at data\.givenName/) });
    expect(forever).toMatchObject({ reasonCode: 'invalid-event', reason: expect.stringMatching(/at most P100Y[\s\S]*at data\.duration/) });

    // Behind the bad ones, on the same keys (hence the same partitions): valid events are still handled.
    await p.produce([{ key: big, value: json(hrEvent(big)) }, { key: bidi, value: json(hrEvent(bidi, { data: { givenName: '  Ada ' } })) }]);
    expect(await provisioned(big)).toMatchObject({ userName: `${big.toLowerCase()}@example.com` });
    expect(await provisioned(bidi)).toMatchObject({ name: { givenName: 'Ada' } });
    const validTicket = uniqueName('RITM').replaceAll('.', '');
    await p.produceItsm([{ key: requester, value: json(accessRequested(validTicket, requester, { data: { duration: 'P30D' } })) }]);
    const started = await eventually(`request/${validTicket} started`, async () => {
      const description = await p.ingress.client.workflow.getHandle(accessRequestWorkflowId(validTicket)).describe().catch(() => undefined);
      return description?.runId ? description : undefined;
    });
    expect(started.type).toBe('accessRequest');
    // Nothing dead-lettered twice, nothing lost: one letter per bad event.
    expect((await listDeadLetters(p.cfg, hr)).filter((l) => [big, contradictory, bidi].includes(l.key ?? ''))).toHaveLength(3);
  }, 180_000);
});

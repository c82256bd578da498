// Produces outcome events to `provisioning.outcomes`, keyed by employee id.
import type { Config } from '../schemas/config.js';
import type { Outcome } from '../schemas/outcomes.js';
import type { Logger } from '../observability/logger.js';
import { createKafka, type Producer } from '../kafka/client.js';

export type OutcomeProducer = { publish(outcome: Outcome): Promise<void>; close(): Promise<void> };

export async function createOutcomeProducer(cfg: Config, logger: Logger): Promise<OutcomeProducer> {
  const producer: Producer = createKafka(cfg, { clientId: `${cfg.kafka.clientId}-outcomes`, logger }).producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  return {
    async publish(outcome) {
      await producer.send({
        topic: cfg.kafka.topics.outcomes,
        acks: -1,
        messages: [{ key: outcome.employeeId, value: JSON.stringify(outcome), headers: { 'ce-type': 'provisioning.outcome', 'change-id': outcome.changeId } }],
      });
    },
    close: () => producer.disconnect(),
  };
}

// A change's outcome on the outcomes topic, checked against the schema we emit.
import { outcomeSchema, type Outcome } from '../schemas/outcomes.js';

export function createPublishActivities(deps: { publishOutcome: (outcome: Outcome) => Promise<void> }) {
  return {
    async publishOutcome(outcome: Outcome): Promise<void> {
      await deps.publishOutcome(outcomeSchema.parse(outcome));
    },
  };
}

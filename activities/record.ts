// A change's outcome in the store, with its audit record, and the person's applied sequence.
import { markSequenceApplied, outcomeAuditEntry, recordOutcome, type Store } from '../store/index.js';
import type { RecordChangeInput } from './lifecycle-types.js';
import { label, metrics } from '../observability/metrics.js';

/** Time to provision: from the HR event's time to this outcome, once per application the change acted on. */
function observeTimeToProvision({ outcome, eventTime }: RecordChangeInput): void {
  if (!eventTime || outcome.status === 'ignored') return;
  const seconds = (Date.parse(outcome.completedAt) - Date.parse(eventTime)) / 1000;
  if (!Number.isFinite(seconds) || seconds < 0) return;
  for (const app of new Set(outcome.steps.map((s) => s.app))) {
    metrics.timeToProvision.observe({ event_type: label(outcome.eventType), app: label(app), status: outcome.status }, seconds);
  }
}

export function createRecordActivities(deps: { store: Store }) {
  return {
    async recordChange(input: RecordChangeInput): Promise<void> {
      const recorded = await deps.store.change(
        async (tx) => {
          const applied = input.applied ?? true;
          const recorded = await recordOutcome(tx, input.outcome, { applied });
          if (input.outcome.status !== 'ignored' && applied) await markSequenceApplied(tx, input.employeeId, input.sequence);
          return recorded;
        },
        (r: { created: boolean }) => (r.created ? outcomeAuditEntry(input.outcome) : null),
      );
      // Once per outcome: a retried activity finds it recorded.
      if (recorded.result.created) observeTimeToProvision(input);
    },
  };
}

// A change's outcome in the store, with its audit record, and the person's applied sequence.
import { markSequenceApplied, outcomeAuditEntry, recordOutcome, type Store } from '../store/index.js';
import type { RecordChangeInput } from './lifecycle-types.js';

export function createRecordActivities(deps: { store: Store }) {
  return {
    async recordChange(input: RecordChangeInput): Promise<void> {
      await deps.store.change(
        async (tx) => {
          const applied = input.applied ?? true;
          const recorded = await recordOutcome(tx, input.outcome, { applied });
          if (input.outcome.status !== 'ignored' && applied) await markSequenceApplied(tx, input.employeeId, input.sequence);
          return recorded;
        },
        (r: { created: boolean }) => (r.created ? outcomeAuditEntry(input.outcome) : null),
      );
    },
  };
}

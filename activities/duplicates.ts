// Who else claims the person's unique values (HR data quality, policy/data-quality.ts). The store
// finds them by its blind index (store/blind-index.ts), never by the values in clear. The values
// compared are an input: the e-mail address today (every application's userName is the e-mail);
// per-application userNames join them as `{ attribute: 'userName', app }` when they are derived.
import type { DuplicateValue } from '../policy/data-quality.js';
import type { WorkerSnapshot } from '../schemas/events.js';
import { peopleSharing, type SharedValue, type Store } from '../store/index.js';

/** The values of a snapshot that must be one person's only. */
export function uniqueValuesOf(snapshot: WorkerSnapshot): SharedValue[] {
  return snapshot.email ? [{ attribute: 'email', value: snapshot.email }] : [];
}

/** The person's values that other living people claim too; none for a leaver (a leaver is never held). */
export async function duplicatesOf(store: Store, snapshot: WorkerSnapshot, values: readonly SharedValue[] = uniqueValuesOf(snapshot)): Promise<DuplicateValue[]> {
  const kek = store.keys.kek;
  if (snapshot.status === 'terminated' || values.length === 0 || !kek) return [];
  const shared = await peopleSharing(store.pool, kek, { employeeId: snapshot.employeeId, values });
  return shared.map((s) => ({ attribute: s.attribute, employeeIds: s.employeeIds }));
}

// Retention: a person terminated longer ago than the retention period is purged. Deleting the
// identity row cascades to their key (crypto-shredding: every sealed value about them, in the audit
// chain too, becomes unreadable), accounts, grants, approvals, plans, outcomes and dedupe keys. The
// chain itself is untouched and still verifies, because it hashes the ciphertext, not the clear text.
import type { Store } from './store.js';

export type PurgeResult = { purged: string[] };

export async function purgeExpiredPersons(
  store: Store,
  options: { retentionDays: number; now?: Date; batchSize?: number },
): Promise<PurgeResult> {
  if (!Number.isFinite(options.retentionDays) || options.retentionDays < 0) throw new RangeError('retentionDays must be a non-negative number');
  const cutoff = new Date((options.now ?? new Date()).getTime() - options.retentionDays * 86_400_000);
  const { rows } = await store.pool.query<{ person_id: string }>(
    `select person_id from identities where status = 'terminated' and terminated_at < $1 order by terminated_at limit $2`,
    [cutoff, options.batchSize ?? 1000],
  );
  const purged: string[] = [];
  for (const { person_id: personId } of rows) {
    // One transaction per person: the purge and its audit record commit together.
    const { result } = await store.change(
      async (tx) => {
        // Checked again under the delete: the person may have been rehired since the scan.
        const deleted = await tx.client.query(
          `delete from identities where person_id = $1 and status = 'terminated' and terminated_at < $2`,
          [personId, cutoff],
        );
        return deleted.rowCount === 1;
      },
      (deleted) =>
        deleted
          ? {
              actor: { type: 'system', id: 'retention' },
              action: 'identity.purged',
              reason: `terminated before ${cutoff.toISOString()} (retention ${options.retentionDays} days): identity and personal data key deleted`,
              subject: { personId },
              changes: [{ op: 'purge' }],
            }
          : null,
    );
    if (result) purged.push(personId);
  }
  return { purged };
}

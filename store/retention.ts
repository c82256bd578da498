// Retention: a person terminated longer ago than the retention period is purged. Deleting the
// identity row cascades to their key (crypto-shredding: every sealed value about them, in the audit
// chain too, becomes unreadable), accounts, grants, approvals, plans, outcomes and dedupe keys. The
// chain itself is untouched and still verifies, because it hashes the ciphertext, not the clear text.
// The rows that name the person by employee id or account handle without a foreign key to them
// (the fence's asks and counts, reconciliation's listing and findings) go first, for the batch at once.
import type pg from 'pg';
import { inTransaction } from './db.js';
import type { Store } from './store.js';

export type PurgeResult = { purged: string[] };

export async function purgeExpiredPersons(
  store: Store,
  options: { retentionDays: number; now?: Date; batchSize?: number },
): Promise<PurgeResult> {
  if (!Number.isFinite(options.retentionDays) || options.retentionDays < 0) throw new RangeError('retentionDays must be a non-negative number');
  const cutoff = new Date((options.now ?? new Date()).getTime() - options.retentionDays * 86_400_000);
  const { rows } = await store.pool.query<{ person_id: string; employee_id: string }>(
    `select person_id, employee_id from identities where status = 'terminated' and terminated_at < $1 order by terminated_at limit $2`,
    [cutoff, options.batchSize ?? 1000],
  );
  // First the rows that name them without a foreign key, for the whole batch at once (one pass per
  // table): a purge that stops after this finds the same people again next time and purges them then.
  if (rows.length > 0) await inTransaction(store.pool, (client) => purgeOperationalRows(client, rows.map((r) => r.employee_id)));
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

/**
 * The fence's and reconciliation's rows about these people (employee ids compare case-insensitively,
 * policy/employee-ids.ts): their fence asks (held ones stay: a held person is not past retention) and
 * the window counts of their requests (`identity/<employeeId>/…`), the accounts of theirs a listing
 * stored, and the drift found about them (open findings are keyed `<app>|<kind>|<EMPLOYEE ID>|…`,
 * policy/drift.ts findingKey).
 */
async function purgeOperationalRows(client: pg.PoolClient, employeeIds: readonly string[]): Promise<void> {
  const ids = employeeIds.map((id) => id.toUpperCase());
  await client.query(`delete from fence_admitted where split_part(request_id, '/', 1) = 'identity' and upper(split_part(request_id, '/', 2)) = any($1)`, [ids]);
  await client.query(`delete from fence_requests where upper(employee_id) = any($1) and status <> 'held'`, [ids]);
  await client.query(`delete from reconcile_accounts where upper(external_id) = any($1)`, [ids]);
  await client.query(`delete from drift_findings where upper(employee_id) = any($1)`, [ids]);
  await client.query(`delete from drift_open where split_part(finding_key, '|', 3) = any($1)`, [ids]);
}

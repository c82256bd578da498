// Accounts per application: which account in which app belongs to whom, and its state.
import type { Db } from './db.js';
import { ensurePerson } from './person-keys.js';
import type { StoreTx } from './store.js';

export type AccountStatus = 'active' | 'disabled' | 'deleted';
export type Account = { app: string; accountId: string; status: AccountStatus; updatedAt: Date };

export type RecordAccountResult = { personId: string; previous: { accountId: string; status: AccountStatus } | undefined; changed: boolean };

/** Records the person's account in an app (one per app); reports whether anything changed. */
export async function recordAccount(
  tx: StoreTx,
  input: { employeeId: string; app: string; accountId: string; status: AccountStatus },
): Promise<RecordAccountResult> {
  const person = await ensurePerson(tx.client, tx.kek, input.employeeId);
  const before = await tx.client.query<{ account_id: string; status: AccountStatus }>(
    'select account_id, status from accounts where person_id = $1 and app = $2 for update',
    [person.personId, input.app],
  );
  const previous = before.rows[0] ? { accountId: before.rows[0].account_id, status: before.rows[0].status } : undefined;
  if (previous && previous.accountId === input.accountId && previous.status === input.status) {
    return { personId: person.personId, previous, changed: false };
  }
  await tx.client.query(
    `insert into accounts (person_id, app, account_id, status) values ($1, $2, $3, $4)
     on conflict (person_id, app) do update set account_id = excluded.account_id, status = excluded.status, updated_at = now()`,
    [person.personId, input.app, input.accountId, input.status],
  );
  return { personId: person.personId, previous, changed: true };
}

export async function listAccounts(db: Db, employeeId: string): Promise<Account[]> {
  const { rows } = await db.query<{ app: string; account_id: string; status: AccountStatus; updated_at: Date }>(
    `select a.app, a.account_id, a.status, a.updated_at from accounts a join identities i using (person_id)
      where i.employee_id = $1 order by a.app`,
    [employeeId],
  );
  return rows.map((r) => ({ app: r.app, accountId: r.account_id, status: r.status, updatedAt: r.updated_at }));
}

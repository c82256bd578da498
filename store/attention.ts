// What in the store waits on someone (`provisioner status`): approvals still pending and how old
// the oldest is, and the oldest change that was planned but has no outcome yet.
import type { Db } from './db.js';

export type PendingApprovals = { pending: number; oldestAt?: Date };
export type UnfinishedChange = { changeId: string; employeeId: string; plannedAt: Date };

export async function pendingApprovals(db: Db): Promise<PendingApprovals> {
  const { rows } = await db.query<{ n: string; oldest: Date | null }>(`select count(*) as n, min(created_at) as oldest from approvals where status = 'pending'`);
  const row = rows[0]!;
  return { pending: Number(row.n), ...(row.oldest ? { oldestAt: row.oldest } : {}) };
}

/** The oldest planned change without an outcome (a change still being applied, waiting at the fence, for an app, or lost). */
export async function oldestUnfinishedChange(db: Db): Promise<UnfinishedChange | undefined> {
  const { rows } = await db.query<{ change_id: string; employee_id: string; created_at: Date }>(
    `select p.change_id, i.employee_id, p.created_at
       from plans p join identities i on i.person_id = p.person_id
      where not exists (select 1 from outcomes o where o.change_id = p.change_id)
      order by p.created_at limit 1`,
  );
  const row = rows[0];
  return row ? { changeId: row.change_id, employeeId: row.employee_id, plannedAt: row.created_at } : undefined;
}

// The pause an application asked for with Retry-After (RFC 9110 §10.2.3), shared by every worker:
// an application rate-limits the provisioner as one client (its OAuth client, its service
// account), so a Retry-After given to one call holds every call until it has passed. Kept on the
// database's clock; a later Retry-After never shortens an earlier, longer one. No audit record: no
// state of the application changes, and the pause ends by itself.
import type { Db } from './db.js';

/** Records that `app` asked for no call before `retryAfterMs` from now. */
export async function recordApplicationBackoff(db: Db, app: string, retryAfterMs: number): Promise<void> {
  await db.query(
    `insert into application_backoff (app, not_before) values ($1, now() + ($2::bigint * interval '1 millisecond'))
     on conflict (app) do update set not_before = greatest(application_backoff.not_before, excluded.not_before)`,
    [app, Math.max(0, Math.round(retryAfterMs))],
  );
}

/** How long `app` still asks to be left alone, ms (0 when it does not). */
export async function applicationBackoffRemainingMs(db: Db, app: string): Promise<number> {
  const { rows } = await db.query<{ ms: string }>(`select ceil(extract(epoch from (not_before - now())) * 1000) as ms from application_backoff where app = $1 and not_before > now()`, [app]);
  return rows[0] ? Math.max(0, Number(rows[0].ms)) : 0;
}

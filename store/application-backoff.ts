// The pause an application asked for with Retry-After (RFC 9110 §10.2.3), shared by every worker:
// an application rate-limits the provisioner as one client (its OAuth client, its service
// account), so a Retry-After given to one call holds every call until it has passed. Kept on the
// database's clock; a later Retry-After never shortens an earlier, longer one. No audit record: no
// state of the application changes, and the pause ends by itself. An operator may lift it sooner
// with a release (store/quarantine.ts), which is audited.
import type { Db } from './db.js';

/**
 * The longest pause kept: 7 days. A Retry-After beyond it (a date years ahead, a garbled number)
 * holds the application this long, then its calls find out again; an operator lifts it sooner.
 */
export const MAX_APPLICATION_PAUSE_MS = 7 * 24 * 3_600_000;

/** A pause as it is kept: at least 0, at most MAX_APPLICATION_PAUSE_MS, whole milliseconds. */
export const boundedPauseMs = (ms: number): number => (Number.isFinite(ms) ? Math.min(MAX_APPLICATION_PAUSE_MS, Math.max(0, Math.round(ms))) : MAX_APPLICATION_PAUSE_MS);

/** Records that `app` asked for no call before `retryAfterMs` from now. */
export async function recordApplicationBackoff(db: Db, app: string, retryAfterMs: number): Promise<void> {
  await db.query(
    `insert into application_backoff (app, not_before) values ($1, now() + ($2::bigint * interval '1 millisecond'))
     on conflict (app) do update set not_before = greatest(application_backoff.not_before, excluded.not_before)`,
    [app, boundedPauseMs(retryAfterMs)],
  );
}

/** How long `app` still asks to be left alone, ms (0 when it does not). */
export async function applicationBackoffRemainingMs(db: Db, app: string): Promise<number> {
  const { rows } = await db.query<{ ms: string }>(`select ceil(extract(epoch from (not_before - now())) * 1000) as ms from application_backoff where app = $1 and not_before > now()`, [app]);
  return rows[0] ? Math.max(0, Number(rows[0].ms)) : 0;
}

export type ApplicationPause = { app: string; until: Date; remainingMs: number };

/** Every application still asking for a pause, the longest first. */
export async function applicationPauses(db: Db): Promise<ApplicationPause[]> {
  const { rows } = await db.query<{ app: string; not_before: Date; ms: string }>(
    `select app, not_before, ceil(extract(epoch from (not_before - now())) * 1000) as ms from application_backoff where not_before > now() order by not_before desc, app`,
  );
  return rows.map((r) => ({ app: r.app, until: r.not_before, remainingMs: Math.max(0, Number(r.ms)) }));
}

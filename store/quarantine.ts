// Quarantine of failing applications: every worker's retryable connector failures are counted
// here per application, in the policy's window, and past the threshold the application is
// quarantined (once: the row's primary key decides, and its audit record is written with it).
// Operators hold an application (the probe never releases a held one) or release it; the probe
// releases a quarantined one that answers again. Every change of state is written with its audit
// record; counting a failure alone changes no state and writes none.
import type { Actor, AuditEntry } from './audit-record.js';
import type { Db } from './db.js';
import type { Store } from './store.js';

export type QuarantineState = 'quarantined' | 'held';

export type QuarantinedApplication = {
  app: string;
  state: QuarantineState;
  reason: string;
  since: Date;
  actor: string;
  lastProbeAt: Date | null;
  lastProbeError: string | null;
};

/** As the policy names applications (the tables check it too). */
const APP_ID = /^[a-z][a-z0-9-]{0,31}$/;
export const MAX_QUARANTINE_REASON = 500;

const QUARANTINE_ACTOR: Actor = { type: 'system', id: 'quarantine' };
export const PROBE_ACTOR: Actor = { type: 'system', id: 'probe' };

function checkApp(app: string): void {
  if (!APP_ID.test(app)) throw new RangeError(`"${app}" is not an application id (lower-case letters, digits and dashes)`);
}

function checkReason(reason: string): string {
  const trimmed = reason.trim();
  if (trimmed.length < 1 || trimmed.length > MAX_QUARANTINE_REASON) throw new RangeError(`a reason is 1-${MAX_QUARANTINE_REASON} characters`);
  return trimmed;
}

const actorText = (actor: Actor): string => (actor.type === 'person' ? actor.employeeId : `${actor.type}:${actor.id}`);

type Row = { app: string; state: QuarantineState; reason: string; since: Date; actor: string; last_probe_at: Date | null; last_probe_error: string | null };
const fromRow = (r: Row): QuarantinedApplication => ({ app: r.app, state: r.state, reason: r.reason, since: r.since, actor: r.actor, lastProbeAt: r.last_probe_at, lastProbeError: r.last_probe_error });

export type FailureThreshold = { failures: number; windowMs: number; /** The window as the policy wrote it (PT5M), for the reason. */ window: string };
export type RecordedFailure = { failures: number; quarantined: boolean; newly: boolean };

/**
 * Counts one retryable failure of `app` and quarantines it when the failures in the window reach
 * the threshold. `newly`: this call quarantined it (audited `application.quarantined`, once).
 */
export async function recordApplicationFailure(store: Store, input: { app: string; errorType: string; /** Why, when not the count (e.g. a Retry-After longer than the probe interval); no personal data. */ reason?: string } & FailureThreshold): Promise<RecordedFailure> {
  checkApp(input.app);
  const { result } = await store.change(
    async (tx) => {
      const c = tx.client;
      await c.query('insert into application_failures (app, error_type) values ($1, $2)', [input.app, input.errorType.slice(0, 100)]);
      // Failures older than the window never count again.
      await c.query(`delete from application_failures where app = $1 and failed_at < now() - ($2::bigint * interval '1 millisecond')`, [input.app, input.windowMs]);
      const { rows } = await c.query<{ n: string }>(`select count(*) as n from application_failures where app = $1 and failed_at >= now() - ($2::bigint * interval '1 millisecond')`, [input.app, input.windowMs]);
      const failures = Number(rows[0]!.n);
      if (failures < input.failures) {
        const { rowCount } = await c.query('select 1 from application_quarantine where app = $1', [input.app]);
        return { failures, quarantined: (rowCount ?? 0) > 0, newly: false };
      }
      const inserted = await c.query(
        `insert into application_quarantine (app, state, reason, actor) values ($1, 'quarantined', $2, $3) on conflict (app) do nothing`,
        [input.app, input.reason ?? quarantineReason(input, failures, input.errorType), actorText(QUARANTINE_ACTOR)],
      );
      return { failures, quarantined: true, newly: (inserted.rowCount ?? 0) > 0 };
    },
    (r: RecordedFailure): AuditEntry | null =>
      r.newly
        ? { actor: QUARANTINE_ACTOR, action: 'application.quarantined', reason: input.reason ?? quarantineReason(input, r.failures, input.errorType), changes: [{ op: 'application.quarantine', app: input.app, outcome: 'quarantined' }] }
        : null,
  );
  return result;
}

/** Why an application was quarantined, in words that name no person. */
export function quarantineReason(threshold: FailureThreshold & { app: string }, failures: number, lastErrorType: string): string {
  return `${threshold.app}: ${failures} retryable failures in ${threshold.window} (threshold ${threshold.failures}; last: ${lastErrorType}); its steps wait until a probe or an operator releases it`;
}

/** The application's quarantine, or undefined when it is not quarantined. */
export async function applicationQuarantine(db: Db, app: string): Promise<QuarantinedApplication | undefined> {
  const { rows } = await db.query<Row>('select * from application_quarantine where app = $1', [app]);
  return rows[0] ? fromRow(rows[0]) : undefined;
}

/** Every quarantined or held application, oldest first. */
export async function quarantinedApplications(db: Db): Promise<QuarantinedApplication[]> {
  const { rows } = await db.query<Row>('select * from application_quarantine order by since, app');
  return rows.map(fromRow);
}

/** What the last probe found (no audit record: the application's state did not change). */
export async function recordProbe(db: Db, app: string, error: string | null): Promise<void> {
  await db.query('update application_quarantine set last_probe_at = now(), last_probe_error = $2 where app = $1', [app, error === null ? null : error.slice(0, 500)]);
}

export type OperatorQuarantineInput = {
  app: string;
  /** The operator: the authenticated caller, never a typed name. */
  operatorId: string;
  /** Why, in the operator's words (sealed in the audit record: it may name people). */
  reason: string;
};

/** An operator holds the application: its steps wait, and only an operator releases it. `changed`: false when it was held already. */
export async function holdApplication(store: Store, input: OperatorQuarantineInput): Promise<{ changed: boolean; previous: QuarantineState | null }> {
  checkApp(input.app);
  const reason = checkReason(input.reason);
  const { result } = await store.change(
    async (tx) => {
      const { rows } = await tx.client.query<{ state: QuarantineState }>('select state from application_quarantine where app = $1 for update', [input.app]);
      const previous = rows[0]?.state ?? null;
      if (previous === 'held') return { changed: false, previous };
      await tx.client.query(
        `insert into application_quarantine (app, state, reason, actor) values ($1, 'held', $2, $3)
         on conflict (app) do update set state = 'held', reason = excluded.reason, actor = excluded.actor`,
        [input.app, `${input.app}: held by an operator; its steps wait until an operator releases it`, input.operatorId],
      );
      return { changed: true, previous };
    },
    (r): AuditEntry | null =>
      r.changed
        ? { actor: { type: 'person', employeeId: input.operatorId }, action: 'application.quarantine-held', reason: `${input.app} held by an operator${r.previous ? ` (was ${r.previous})` : ''}: the probe does not release it`, subject: { employeeId: input.operatorId }, changes: [{ op: 'application.hold', app: input.app, outcome: 'held' }], personal: { reason } }
        : null,
  );
  return result;
}

/**
 * Releases the application: its failures are forgotten and its waiting steps run again. The probe
 * releases only a `quarantined` application (`onlyIf`), an operator any. An operator's release also
 * lifts the pause the application asked for with Retry-After (store/application-backoff.ts), which
 * the probe always waits for: the operator answers for calling it early (e.g. the vendor said the
 * maintenance is over). `released`: false when there was nothing to release (not in quarantine, or
 * held for the probe, and no pause for an operator); `pauseLifted`: the end of the pause lifted.
 */
export async function releaseApplication(
  store: Store,
  input: { app: string; actor: Actor; reason?: string; onlyIf?: QuarantineState },
): Promise<{ released: boolean; previous: QuarantineState | null; pauseLifted?: Date }> {
  checkApp(input.app);
  const reason = input.reason === undefined ? undefined : checkReason(input.reason);
  const person = input.actor.type === 'person' ? input.actor.employeeId : undefined;
  const { result } = await store.change(
    async (tx) => {
      const { rows } = await tx.client.query<{ state: QuarantineState }>('select state from application_quarantine where app = $1 for update', [input.app]);
      const previous = rows[0]?.state ?? null;
      const releases = previous !== null && (input.onlyIf === undefined || previous === input.onlyIf);
      if (releases) {
        await tx.client.query('delete from application_quarantine where app = $1', [input.app]);
        await tx.client.query('delete from application_failures where app = $1', [input.app]);
      }
      let pauseLifted: Date | undefined;
      if (person) {
        const { rows: lifted } = await tx.client.query<{ not_before: Date; pending: boolean }>('delete from application_backoff where app = $1 returning not_before, not_before > now() as pending', [input.app]);
        if (lifted[0]?.pending) pauseLifted = lifted[0].not_before;
      }
      return { released: releases || pauseLifted !== undefined, previous, ...(pauseLifted ? { pauseLifted } : {}) };
    },
    (r): AuditEntry | null => {
      if (!r.released) return null;
      const pause = r.pauseLifted ? `its Retry-After pause until ${r.pauseLifted.toISOString()} lifted` : undefined;
      const what = r.previous ? `${input.app} released from quarantine (was ${r.previous})${pause ? ` and ${pause}` : ''}` : `${input.app}: ${pause}`;
      return {
        actor: input.actor,
        action: 'application.released',
        reason: `${what} by ${person ? 'an operator' : actorText(input.actor)}: its waiting steps run again`,
        changes: [
          ...(r.previous ? [{ op: 'application.release', app: input.app, outcome: 'released' }] : []),
          ...(r.pauseLifted ? [{ op: 'application.pause-lift', app: input.app, outcome: 'lifted' }] : []),
        ],
        ...(person ? { subject: { employeeId: person }, ...(reason ? { personal: { reason } } : {}) } : {}),
      };
    },
  );
  return result;
}

// Reconciliation runs, their listings and their drift (migration 009). A listing is an observation
// of an application, not a governance change: its pages are written straight (each page in one
// transaction with its accounts, so a resumed listing starts after the last whole page). What a run
// finds is audited by the reconciliation's activities (activities/reconcile.ts), once per finding.
// Personal values of the listing are kept as keyed digests only (store/blind-index.ts).
import type { DriftFinding, DriftKind, ListedAccount } from '../policy/drift.js';
import type { RemovalBlock } from '../policy/reconcile-safety.js';
import { inTransaction, type Db } from './db.js';
import type pg from 'pg';

export type RunStatus = 'listing' | 'comparing' | 'remediating' | 'completed' | 'failed' | 'skipped';

export type ReconcileRun = {
  runId: string;
  app: string;
  dryRun: boolean;
  policyVersion: string | null;
  status: RunStatus;
  startedAt: Date;
  finishedAt: Date | null;
  listingComplete: boolean;
  listingFailure: string | null;
  pages: number;
  accounts: number;
  reportedTotal: number | null;
  entitlementsUnknown: number;
  removalsBlocked: RemovalBlock[];
  counts: Partial<Record<DriftKind, number>>;
  remediation: Record<string, number>;
};

/** Starts a run (a repeat of the same run id is a no-op; a run claimed before it started gets its policy version). */
export async function createRun(db: Db, input: { runId: string; app: string; dryRun: boolean; policyVersion: string | null }): Promise<void> {
  await db.query(`insert into reconcile_runs (run_id, app, dry_run, policy_version, status) values ($1, $2, $3, $4, 'listing')
                  on conflict (run_id) do update set policy_version = coalesce(reconcile_runs.policy_version, excluded.policy_version)`, [
    input.runId,
    input.app,
    input.dryRun,
    input.policyVersion,
  ]);
}

/** The application's runs not finished yet (newest first): a run going on, or one whose workflow ended without finishing it. */
export async function unfinishedRuns(db: Db, app: string): Promise<string[]> {
  const { rows } = await db.query<{ run_id: string }>(`select run_id from reconcile_runs where app = $1 and status in ('listing', 'comparing', 'remediating') order by started_at desc limit 20`, [app]);
  return rows.map((r) => r.run_id);
}

export type LastPage = { pageNo: number; nextCursor: string | null; accounts: number };

/** The last page stored for the run, and how many accounts the listing holds so far. */
export async function lastListedPage(db: Db, runId: string): Promise<LastPage | undefined> {
  const { rows } = await db.query<{ page_no: number; next_cursor: string | null; accounts: string }>(
    `select p.page_no, p.next_cursor, (select count(*) from reconcile_accounts a where a.run_id = $1) as accounts
       from reconcile_pages p where p.run_id = $1 order by p.page_no desc limit 1`,
    [runId],
  );
  const r = rows[0];
  return r ? { pageNo: r.page_no, nextCursor: r.next_cursor, accounts: Number(r.accounts) } : undefined;
}

/** An account as the listing stores it: its personal values as digests. */
export type StoredAccount = {
  accountId: string;
  externalId?: string;
  active: boolean;
  entitlements?: string[];
  entitlementsUnknown?: string;
  userNameDigest?: string;
  emailDigest?: string;
  attributeDigests?: Record<string, string>;
};

/** Stores one page and its accounts together; a page stored already is left as it is (false). */
export async function storePage(pool: pg.Pool, input: { runId: string; pageNo: number; cursor?: string; nextCursor?: string; accounts: readonly StoredAccount[] }): Promise<boolean> {
  return inTransaction(pool, async (client) => {
    const page = await client.query(
      `insert into reconcile_pages (run_id, page_no, cursor, next_cursor, items) values ($1, $2, $3, $4, $5) on conflict do nothing`,
      [input.runId, input.pageNo, input.cursor ?? null, input.nextCursor ?? null, input.accounts.length],
    );
    if (page.rowCount !== 1) return false;
    const a = input.accounts;
    // A duplicate handle across pages (an application that moved an account while we listed) is kept once.
    await client.query(
      `insert into reconcile_accounts (run_id, page_no, account_id, external_id, active, entitlements, entitlements_unknown, user_name_digest, email_digest, attribute_digests)
       select $1, $2, t.account_id, t.external_id, t.active, case when t.entitlements is null then null else array(select jsonb_array_elements_text(t.entitlements)) end,
              t.entitlements_unknown, t.user_name_digest, t.email_digest, t.attribute_digests
         from unnest($3::text[], $4::text[], $5::boolean[], $6::jsonb[], $7::text[], $8::text[], $9::text[], $10::jsonb[])
           as t(account_id, external_id, active, entitlements, entitlements_unknown, user_name_digest, email_digest, attribute_digests)
       on conflict do nothing`,
      [
        input.runId,
        input.pageNo,
        a.map((x) => x.accountId),
        a.map((x) => x.externalId ?? null),
        a.map((x) => x.active),
        a.map((x) => (x.entitlements ? JSON.stringify(x.entitlements) : null)),
        a.map((x) => x.entitlementsUnknown ?? null),
        a.map((x) => x.userNameDigest ?? null),
        a.map((x) => x.emailDigest ?? null),
        a.map((x) => (x.attributeDigests ? JSON.stringify(x.attributeDigests) : null)),
      ],
    );
    return true;
  });
}

export type ListingEnd = { complete: boolean; failure?: string; reportedTotal?: number };

/** Records how the listing ended, with its page and account counts; the run moves on to comparing. */
export async function finishListing(db: Db, runId: string, end: ListingEnd): Promise<void> {
  await db.query(
    `update reconcile_runs set listing_complete = $2, listing_failure = $3, reported_total = $4, status = 'comparing',
            pages = (select count(*) from reconcile_pages where run_id = $1),
            accounts = (select count(*) from reconcile_accounts where run_id = $1),
            entitlements_unknown = (select count(*) from reconcile_accounts where run_id = $1 and entitlements_unknown is not null)
      where run_id = $1`,
    [runId, end.complete, end.failure ?? null, end.reportedTotal ?? null],
  );
}

/** The run's listing, as the drift classification reads it (digests in place of personal values). */
export async function readListing(db: Db, runId: string): Promise<ListedAccount[]> {
  const { rows } = await db.query<{
    account_id: string; external_id: string | null; active: boolean; entitlements: string[] | null; entitlements_unknown: string | null;
    user_name_digest: string | null; email_digest: string | null; attribute_digests: Record<string, string> | null;
  }>(`select account_id, external_id, active, entitlements, entitlements_unknown, user_name_digest, email_digest, attribute_digests from reconcile_accounts where run_id = $1`, [runId]);
  return rows.map((r) => ({
    id: r.account_id,
    ...(r.external_id !== null ? { externalId: r.external_id } : {}),
    active: r.active,
    ...(r.entitlements !== null ? { entitlements: r.entitlements } : {}),
    ...(r.entitlements_unknown !== null ? { entitlementsUnknown: r.entitlements_unknown } : {}),
    ...(r.user_name_digest !== null ? { userName: r.user_name_digest } : {}),
    ...(r.email_digest !== null ? { email: r.email_digest } : {}),
    ...(r.attribute_digests !== null ? { attributes: r.attribute_digests } : {}),
  }));
}

const toRun = (r: Record<string, unknown>): ReconcileRun => ({
  runId: r.run_id as string,
  app: r.app as string,
  dryRun: r.dry_run as boolean,
  policyVersion: (r.policy_version as string | null) ?? null,
  status: r.status as RunStatus,
  startedAt: r.started_at as Date,
  finishedAt: (r.finished_at as Date | null) ?? null,
  listingComplete: r.listing_complete as boolean,
  listingFailure: (r.listing_failure as string | null) ?? null,
  pages: r.pages as number,
  accounts: r.accounts as number,
  reportedTotal: (r.reported_total as number | null) ?? null,
  entitlementsUnknown: r.entitlements_unknown as number,
  removalsBlocked: r.removals_blocked as RemovalBlock[],
  counts: r.counts as ReconcileRun['counts'],
  remediation: r.remediation as Record<string, number>,
});

export async function getRun(db: Db, runId: string): Promise<ReconcileRun | undefined> {
  const { rows } = await db.query('select * from reconcile_runs where run_id = $1', [runId]);
  return rows[0] ? toRun(rows[0] as Record<string, unknown>) : undefined;
}

/** Runs, newest first (of one application when given). */
export async function listRuns(db: Db, options: { app?: string; limit?: number } = {}): Promise<ReconcileRun[]> {
  const { rows } = await db.query('select * from reconcile_runs where ($1::text is null or app = $1) order by started_at desc limit $2', [options.app ?? null, options.limit ?? 20]);
  return rows.map((r) => toRun(r as Record<string, unknown>));
}

/** The account count of the application's last real run whose listing completed (the baseline a listing may not shrink far from). */
export async function previousCompleteListing(db: Db, app: string, runId: string): Promise<number | undefined> {
  const { rows } = await db.query<{ accounts: number }>(
    `select accounts from reconcile_runs where app = $1 and run_id <> $2 and listing_complete and not dry_run and status = 'completed' order by started_at desc limit 1`,
    [app, runId],
  );
  return rows[0]?.accounts;
}

export type StoredFinding = DriftFinding & { key: string; remediation: string };

/** Stores the run's findings (a repeat of the same run keeps the first). */
export async function storeFindings(db: Db, runId: string, findings: readonly StoredFinding[]): Promise<void> {
  for (let i = 0; i < findings.length; i += 5000) {
    const f = findings.slice(i, i + 5000);
    await db.query(
      `insert into drift_findings (run_id, finding_key, app, kind, account_id, employee_id, entitlement_id, attribute, unmanaged, detail, remediation)
       select $1, * from unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::boolean[], $10::text[], $11::text[])
       on conflict do nothing`,
      [
        runId,
        f.map((x) => x.key),
        f.map((x) => x.app),
        f.map((x) => x.kind),
        f.map((x) => x.accountId ?? null),
        f.map((x) => x.employeeId ?? null),
        f.map((x) => x.entitlementId ?? null),
        f.map((x) => x.attribute ?? null),
        f.map((x) => x.unmanaged === true),
        f.map((x) => x.detail),
        f.map((x) => x.remediation),
      ],
    );
  }
}

/**
 * Brings the application's open findings up to this run: returns the keys that are new (to audit
 * as found) and, when `complete`, the open ones this run no longer shows (to audit as resolved;
 * they are closed). An incomplete listing resolves nothing: its silence proves nothing.
 */
export async function updateOpenFindings(pool: pg.Pool, input: { app: string; runId: string; findings: readonly StoredFinding[]; complete: boolean }): Promise<{ opened: string[]; resolved: { key: string; kind: string }[] }> {
  return inTransaction(pool, async (client) => {
    // One run of an application at a time updates its open set.
    await client.query('select pg_advisory_xact_lock(hashtext($1))', [`drift_open/${input.app}`]);
    const { rows } = await client.query<{ finding_key: string }>(
      `insert into drift_open (app, finding_key, kind, first_run, last_run)
       select $1, k, kind, $2, $2 from unnest($3::text[], $4::text[]) as t(k, kind)
       on conflict (app, finding_key) do update set last_run = excluded.last_run
       returning finding_key, (xmax = 0) as inserted`,
      [input.app, input.runId, input.findings.map((f) => f.key), input.findings.map((f) => f.kind)],
    );
    const opened = (rows as unknown as { finding_key: string; inserted: boolean }[]).filter((r) => r.inserted).map((r) => r.finding_key);
    let resolved: { key: string; kind: string }[] = [];
    if (input.complete) {
      const gone = await client.query<{ finding_key: string; kind: string }>(`delete from drift_open where app = $1 and last_run <> $2 returning finding_key, kind`, [input.app, input.runId]);
      resolved = gone.rows.map((r) => ({ key: r.finding_key, kind: r.kind }));
    }
    return { opened, resolved };
  });
}

export async function finishRun(db: Db, runId: string, input: { status: 'completed' | 'failed' | 'skipped'; counts: Partial<Record<DriftKind, number>>; removalsBlocked: readonly RemovalBlock[]; remediation: Record<string, number> }): Promise<void> {
  await db.query(`update reconcile_runs set status = $2, counts = $3, removals_blocked = $4, remediation = $5, finished_at = now() where run_id = $1`, [
    runId,
    input.status,
    JSON.stringify(input.counts),
    JSON.stringify(input.removalsBlocked),
    JSON.stringify(input.remediation),
  ]);
}

export async function setRunStatus(db: Db, runId: string, status: RunStatus): Promise<void> {
  await db.query('update reconcile_runs set status = $2 where run_id = $1', [runId, status]);
}

export type FindingRow = StoredFinding & { runId: string };

/** Findings of one run, or of each application's latest finished run; filtered by application and kind. */
export async function listFindings(db: Db, filter: { app?: string; kind?: string; runId?: string; limit?: number } = {}): Promise<FindingRow[]> {
  const { rows } = await db.query<{
    run_id: string; finding_key: string; app: string; kind: string; account_id: string | null; employee_id: string | null; entitlement_id: string | null;
    attribute: string | null; unmanaged: boolean; detail: string; remediation: string;
  }>(
    `select f.* from drift_findings f
      where ($1::text is null or f.app = $1) and ($2::text is null or f.kind = $2)
        and (case when $3::text is not null then f.run_id = $3
                  else f.run_id = (select r.run_id from reconcile_runs r where r.app = f.app and r.status in ('completed', 'remediating') order by r.started_at desc limit 1) end)
      order by f.app, f.kind, f.employee_id nulls last, f.account_id, f.entitlement_id
      limit $4`,
    [filter.app ?? null, filter.kind ?? null, filter.runId ?? null, filter.limit ?? 1000],
  );
  return rows.map((r) => ({
    runId: r.run_id,
    key: r.finding_key,
    app: r.app,
    kind: r.kind as DriftKind,
    ...(r.account_id !== null ? { accountId: r.account_id } : {}),
    ...(r.employee_id !== null ? { employeeId: r.employee_id } : {}),
    ...(r.entitlement_id !== null ? { entitlementId: r.entitlement_id } : {}),
    ...(r.attribute !== null ? { attribute: r.attribute } : {}),
    ...(r.unmanaged ? { unmanaged: true as const } : {}),
    detail: r.detail,
    remediation: r.remediation,
  }));
}

/** Marks what the run did about findings (e.g. `fix: re-evaluation asked`). */
export async function setFindingRemediation(db: Db, runId: string, keys: readonly string[], remediation: string): Promise<void> {
  if (keys.length === 0) return;
  await db.query('update drift_findings set remediation = $3 where run_id = $1 and finding_key = any($2::text[])', [runId, keys, remediation]);
}

// The paged remediation's worklist (migration 012): what the run still has to do, kept here so
// the workflow's history holds counts only.

/** Marks the findings a run will act on: each person to re-evaluate, each orphan to disable. */
export async function markWorklist(db: Db, runId: string, work: { reevaluate: readonly string[]; disable: readonly string[] }): Promise<void> {
  await db.query(
    `update drift_findings set pending = case when finding_key = any($2::text[]) then 'reevaluate' else 'disable' end
      where run_id = $1 and pending is null and work_page is null and (finding_key = any($2::text[]) or finding_key = any($3::text[]))`,
    [runId, work.reevaluate, work.disable],
  );
}

/** The next people the run has not asked yet to re-evaluate, with the findings each answers. */
export async function pendingReevaluations(db: Db, runId: string, limit: number): Promise<{ employeeId: string; keys: string[]; kinds: DriftKind[] }[]> {
  const { rows } = await db.query<{ employee_id: string; keys: string[]; kinds: DriftKind[] }>(
    `select employee_id, array_agg(finding_key order by finding_key) as keys, array_agg(distinct kind order by kind) as kinds
       from drift_findings where run_id = $1 and pending = 'reevaluate' group by employee_id order by employee_id limit $2`,
    [runId, limit],
  );
  return rows.map((r) => ({ employeeId: r.employee_id, keys: r.keys, kinds: r.kinds }));
}

/** Marks findings done (asked or disabled): a retried page leaves them alone. */
export async function clearPending(db: Db, runId: string, keys: readonly string[]): Promise<void> {
  if (keys.length === 0) return;
  await db.query('update drift_findings set pending = null where run_id = $1 and finding_key = any($2::text[])', [runId, keys]);
}

export type OrphanOfPage = { key: string; accountId: string; externalId: string | null; pending: boolean };

/**
 * The orphans of page `page` of the run's disables: the ones put in it before (a retried ask gets
 * the same page), or else the next `limit` pending orphans, which are put in it now.
 */
export async function orphanPage(pool: pg.Pool, runId: string, page: number, limit: number): Promise<OrphanOfPage[]> {
  const select = `select f.finding_key, f.account_id, a.external_id, f.pending is not null as pending
                    from drift_findings f left join reconcile_accounts a on a.run_id = f.run_id and a.account_id = f.account_id
                   where f.run_id = $1 and f.work_page = $2 order by f.finding_key`;
  const toOrphan = (r: { finding_key: string; account_id: string; external_id: string | null; pending: boolean }): OrphanOfPage => ({ key: r.finding_key, accountId: r.account_id, externalId: r.external_id, pending: r.pending });
  return inTransaction(pool, async (client) => {
    await client.query('select pg_advisory_xact_lock(hashtext($1))', [`reconcile_orphans/${runId}`]);
    const existing = await client.query(select, [runId, page]);
    if (existing.rows.length > 0) return existing.rows.map(toOrphan);
    await client.query(
      `update drift_findings set work_page = $2 where run_id = $1 and finding_key in (
         select finding_key from drift_findings where run_id = $1 and pending = 'disable' and work_page is null order by finding_key limit $3)`,
      [runId, page, limit],
    );
    return (await client.query(select, [runId, page])).rows.map(toOrphan);
  });
}

/** Records what became of a page's orphans still to do (held, rejected, failed), and, when `settled`, takes them off the worklist; how many. */
export async function settleOrphanPage(db: Db, runId: string, page: number, remediation: string, settled: boolean): Promise<number> {
  const r = await db.query(`update drift_findings set remediation = $3, pending = case when $4 then null else pending end where run_id = $1 and work_page = $2 and pending is not null`, [runId, page, remediation, settled]);
  return r.rowCount ?? 0;
}

/** Records what the run did about one finding and takes it off the worklist. */
export async function settleFinding(db: Db, runId: string, key: string, remediation: string): Promise<void> {
  await db.query('update drift_findings set remediation = $3, pending = null where run_id = $1 and finding_key = $2', [runId, key, remediation]);
}

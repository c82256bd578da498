// The worker's gauges read from the store at scrape time (prom-client's collect): what is held and
// waiting right now, as every worker of the deployment sees the same store (alert on max, not sum).
// The fence (held batches, held asks per source, steps let through in the window per scope), approvals
// pending and the oldest one's age, quarantined applications and the pauses applications asked for, open drift per application and kind,
// the audit chain's length and what is not yet published, and each checkpoint destination's age.
import { Gauge, type Registry } from 'prom-client';
import { label, metrics } from '../observability/metrics.js';
import type { DestinationStatus } from '../store/audit-checkpoints.js';
import type { Db } from '../store/db.js';

/** A fence source as a label: a bulk source by its family (`reconcile/<app>` → `reconcile`, `policy/<hash>` → `policy`), a feed by its name. */
export const sourceLabel = (source: string): string => (source.includes('/') ? label(source.slice(0, source.indexOf('/'))) : label(source));

/** The names this file registers: a second worker in the process (tests, benchmarks) replaces the first's gauges. */
const NAMES = [
  'provisioner_fence_held_batches', 'provisioner_fence_held_requests', 'provisioner_fence_window_steps', 'provisioner_approvals_pending',
  'provisioner_approvals_oldest_pending_age_seconds', 'provisioner_application_quarantined', 'provisioner_application_pause_seconds', 'provisioner_drift_open_findings',
  'provisioner_audit_chain_records', 'provisioner_audit_unpublished_records', 'provisioner_audit_checkpoint_age_seconds',
];

/** One sample of a gauge: its labels (already through label()) and its value. */
type Sample = { labels?: Record<string, string>; value: number };

/** A gauge read from the store at each scrape; samples with the same labels add up (two sources of one family). */
type StoreGauge<R extends object> = { name: string; help: string; labelNames?: readonly string[]; sql: string; samples(rows: R[]): Sample[] };

export function registerStoreGauges(db: Db, options: { registry?: Registry; checkpoints?: () => DestinationStatus[] } = {}): void {
  const registry = options.registry ?? metrics.registry;
  for (const name of NAMES) registry.removeSingleMetric(name);
  const registers = [registry];
  // A scrape must not fail because one table is unreadable (a store migrated by an older version, a closed pool): that gauge is left empty, never stale.
  const read = async <R extends object>(sql: string): Promise<R[] | undefined> => (await db.query(sql)).rows as R[];
  const gauge = <R extends object>(spec: StoreGauge<R>): void => {
    new Gauge({
      name: spec.name, help: spec.help, labelNames: spec.labelNames ?? [], registers,
      async collect() {
        const rows = await read<R>(spec.sql).catch(() => undefined);
        this.reset();
        for (const { labels, value } of rows ? spec.samples(rows) : []) {
          if (labels) this.inc(labels, value);
          else this.set(value);
        }
      },
    });
  };
  const count = (rows: Array<{ n: string }>): Sample[] => [{ value: Number(rows[0]!.n) }];

  gauge({ name: 'provisioner_fence_held_batches', help: 'Fence batches open (held, waiting for an operator)', sql: `select count(*) as n from fence_batches where status = 'open'`, samples: count });
  gauge<{ source: string; n: string }>({
    name: 'provisioner_fence_held_requests', help: 'Changes held by the fence, by source', labelNames: ['source'],
    sql: `select source, count(*) as n from fence_requests where status = 'held' group by source`,
    samples: (rows) => rows.map((r) => ({ labels: { source: sourceLabel(r.source) }, value: Number(r.n) })),
  });
  gauge<{ scope_key: string; n: string }>({
    name: 'provisioner_fence_window_steps', help: "Fenced steps let through in the fence's current window, by scope (source budget or application), name and action", labelNames: ['scope', 'name', 'action'],
    sql: `select a.scope_key, sum(a.steps) as n from fence_admitted a join fence_counters c on c.fence_id = a.fence_id
          where a.at > now() - make_interval(secs => c.window_ms / 1000.0) group by a.scope_key`,
    samples: (rows) =>
      rows.map((r) => {
        const [scope, name, action] = r.scope_key.split('|');
        return { labels: { scope: label(scope), name: label(name), action: label(action) }, value: Number(r.n) };
      }),
  });
  gauge({ name: 'provisioner_approvals_pending', help: 'Approvals waiting for a decision', sql: `select count(*) as n from approvals where status = 'pending'`, samples: count });
  gauge<{ age: number | null }>({
    name: 'provisioner_approvals_oldest_pending_age_seconds', help: 'Age of the oldest approval waiting for a decision (0: none)',
    sql: `select extract(epoch from now() - min(created_at))::float8 as age from approvals where status = 'pending'`,
    samples: (rows) => [{ value: rows[0]!.age ?? 0 }],
  });
  gauge<{ app: string; state: string }>({
    name: 'provisioner_application_quarantined', help: 'Applications quarantined (1) or held by an operator (1), by application and state', labelNames: ['app', 'state'],
    sql: `select app, state from application_quarantine`,
    samples: (rows) => rows.map((r) => ({ labels: { app: label(r.app), state: label(r.state) }, value: 1 })),
  });
  gauge<{ app: string; s: number }>({
    name: 'provisioner_application_pause_seconds', help: 'Seconds an application still asks every worker to wait (its Retry-After), by application; absent when it asks for none', labelNames: ['app'],
    sql: `select app, extract(epoch from not_before - now())::float8 as s from application_backoff where not_before > now()`,
    samples: (rows) => rows.map((r) => ({ labels: { app: label(r.app) }, value: r.s })),
  });
  gauge<{ app: string; kind: string; n: string }>({
    name: 'provisioner_drift_open_findings', help: 'Drift findings open after the latest reconciliation, by application and kind', labelNames: ['app', 'kind'],
    sql: `select app, kind, count(*) as n from drift_open group by app, kind`,
    samples: (rows) => rows.map((r) => ({ labels: { app: label(r.app), kind: label(r.kind) }, value: Number(r.n) })),
  });
  gauge<{ seq: string }>({
    name: 'provisioner_audit_chain_records', help: "The audit chain's length (its head's sequence number); its rate is the appends per second",
    sql: `select seq from audit_head`,
    samples: (rows) => rows.slice(0, 1).map((r) => ({ value: Number(r.seq) })),
  });
  gauge<{ n: string }>({
    name: 'provisioner_audit_unpublished_records', help: 'Audit records not yet produced to the audit topic (for the SIEM)',
    sql: `select h.seq - p.published_seq as n from audit_head h, audit_publication p`,
    samples: (rows) => rows.slice(0, 1).map((r) => ({ value: Number(r.n) })),
  });
  const checkpoints = options.checkpoints;
  if (checkpoints) {
    new Gauge({
      name: 'provisioner_audit_checkpoint_age_seconds', help: 'Seconds since the last checkpoint of the chain was written to each destination', labelNames: ['destination'] as const, registers,
      collect() {
        this.reset();
        for (const d of checkpoints()) if (d.lastWritten) this.set({ destination: label(d.destination) }, Math.max(0, (Date.now() - Date.parse(d.lastWritten.at)) / 1000));
      },
    });
  }
}

// The worker's gauges read from the store at scrape time (prom-client's collect): what is held and
// waiting right now, as every worker of the deployment sees the same store (alert on max, not sum).
// The fence (held batches, held asks per source, steps let through in the window per scope), approvals
// pending and the oldest one's age, quarantined applications, open drift per application and kind,
// the audit chain's length and what is not yet published, and each checkpoint destination's age.
import { Gauge, type Registry } from 'prom-client';
import { label, metrics } from '../observability/metrics.js';
import type { DestinationStatus } from '../store/audit-checkpoints.js';
import type { Db } from '../store/db.js';

/** A fence source as a label: a bulk source by its family (`reconcile/<app>` → `reconcile`, `policy/<hash>` → `policy`), a feed by its name. */
export const sourceLabel = (source: string): string => (source.includes('/') ? label(source.slice(0, source.indexOf('/'))) : label(source));

type Query = <R extends object>(sql: string) => Promise<R[]>;

/** The names this file registers: a second worker in the process (tests, benchmarks) replaces the first's gauges. */
const NAMES = [
  'provisioner_fence_held_batches', 'provisioner_fence_held_requests', 'provisioner_fence_window_steps', 'provisioner_approvals_pending',
  'provisioner_approvals_oldest_pending_age_seconds', 'provisioner_application_quarantined', 'provisioner_drift_open_findings',
  'provisioner_audit_chain_records', 'provisioner_audit_unpublished_records', 'provisioner_audit_checkpoint_age_seconds',
];

export function registerStoreGauges(db: Db, options: { registry?: Registry; checkpoints?: () => DestinationStatus[] } = {}): void {
  const registry = options.registry ?? metrics.registry;
  for (const name of NAMES) registry.removeSingleMetric(name);
  const registers = [registry];
  const q: Query = async (sql) => (await db.query(sql)).rows;
  // A scrape must not fail because one table is unreadable (a store migrated by an older version, a closed pool): that gauge is left empty, never stale.
  const read = async <R extends object>(sql: string): Promise<R[] | undefined> => q<R>(sql).catch(() => undefined);

  new Gauge({
    name: 'provisioner_fence_held_batches', help: 'Fence batches open (held, waiting for an operator)', registers,
    async collect() {
      const rows = await read<{ n: string }>(`select count(*) as n from fence_batches where status = 'open'`);
      this.reset();
      if (rows) this.set(Number(rows[0]!.n));
    },
  });
  new Gauge({
    name: 'provisioner_fence_held_requests', help: 'Changes held by the fence, by source', labelNames: ['source'] as const, registers,
    async collect() {
      const rows = await read<{ source: string; n: string }>(`select source, count(*) as n from fence_requests where status = 'held' group by source`);
      this.reset();
      for (const r of rows ?? []) this.inc({ source: sourceLabel(r.source) }, Number(r.n));
    },
  });
  new Gauge({
    name: 'provisioner_fence_window_steps', help: "Fenced steps let through in the fence's current window, by scope (source budget or application), name and action", labelNames: ['scope', 'name', 'action'] as const, registers,
    async collect() {
      const rows = await read<{ scope_key: string; n: string }>(
        `select a.scope_key, sum(a.steps) as n from fence_admitted a join fence_counters c on c.fence_id = a.fence_id
          where a.at > now() - make_interval(secs => c.window_ms / 1000.0) group by a.scope_key`,
      );
      this.reset();
      for (const r of rows ?? []) {
        const [scope, name, action] = r.scope_key.split('|');
        this.inc({ scope: label(scope), name: label(name), action: label(action) }, Number(r.n));
      }
    },
  });
  new Gauge({
    name: 'provisioner_approvals_pending', help: 'Approvals waiting for a decision', registers,
    async collect() {
      const rows = await read<{ n: string }>(`select count(*) as n from approvals where status = 'pending'`);
      this.reset();
      if (rows) this.set(Number(rows[0]!.n));
    },
  });
  new Gauge({
    name: 'provisioner_approvals_oldest_pending_age_seconds', help: 'Age of the oldest approval waiting for a decision (0: none)', registers,
    async collect() {
      const rows = await read<{ age: number | null }>(`select extract(epoch from now() - min(created_at))::float8 as age from approvals where status = 'pending'`);
      this.reset();
      if (rows) this.set(rows[0]!.age ?? 0);
    },
  });
  new Gauge({
    name: 'provisioner_application_quarantined', help: 'Applications quarantined (1) or held by an operator (1), by application and state', labelNames: ['app', 'state'] as const, registers,
    async collect() {
      const rows = await read<{ app: string; state: string }>(`select app, state from application_quarantine`);
      this.reset();
      for (const r of rows ?? []) this.set({ app: label(r.app), state: label(r.state) }, 1);
    },
  });
  new Gauge({
    name: 'provisioner_drift_open_findings', help: 'Drift findings open after the latest reconciliation, by application and kind', labelNames: ['app', 'kind'] as const, registers,
    async collect() {
      const rows = await read<{ app: string; kind: string; n: string }>(`select app, kind, count(*) as n from drift_open group by app, kind`);
      this.reset();
      for (const r of rows ?? []) this.set({ app: label(r.app), kind: label(r.kind) }, Number(r.n));
    },
  });
  new Gauge({
    name: 'provisioner_audit_chain_records', help: "The audit chain's length (its head's sequence number); its rate is the appends per second", registers,
    async collect() {
      const rows = await read<{ seq: string }>(`select seq from audit_head`);
      this.reset();
      if (rows?.[0]) this.set(Number(rows[0].seq));
    },
  });
  new Gauge({
    name: 'provisioner_audit_unpublished_records', help: 'Audit records not yet produced to the audit topic (for the SIEM)', registers,
    async collect() {
      const rows = await read<{ n: string }>(`select h.seq - p.published_seq as n from audit_head h, audit_publication p`);
      this.reset();
      if (rows?.[0]) this.set(Number(rows[0].n));
    },
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

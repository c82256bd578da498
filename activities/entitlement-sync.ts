// One answer to "make the policy's groups exist": `provisioner entitlements sync` and the demo's
// seeding both run this. For each application it reads the containers the connector needs (an LDAP
// directory's OUs), creating the managed ones that are missing, then finds each of the policy's
// entitlements by name and creates only those that no entitlement holds. Finding first makes a
// second run create nothing, whether or not the application answers a duplicate name with 409.
// Ambiguity (two groups with one name, a name held by something else, an OU we may not create) is
// action-required, never a guess. Writes go through the audit trail when one is given: the intent
// is recorded before the connector call and the result after (store.step; no record, no write).
import type { CallContext, Connector, Container } from '../connectors/contract.js';
import { can } from '../connectors/contract.js';
import { withRetries } from '../connectors/retry.js';
import type { CompiledPolicy } from '../policy/compile.js';
import type { AuditEntry } from '../store/audit-record.js';
import type { Store } from '../store/store.js';

export type EntitlementSyncLine =
  | { app: string; entitlement: string; status: 'created'; id: string }
  | { app: string; entitlement: string; status: 'existing'; id: string }
  | { app: string; entitlement: string; status: 'would-create' }
  | { app: string; entitlement: string; status: 'action-required'; message: string };

export type ContainerSyncLine = { app: string } & Omit<Container, 'status'> & { status: Container['status'] | 'would-create' };

export type SyncReport = { containers: ContainerSyncLine[]; entitlements: EntitlementSyncLine[] };

export type SyncOptions = {
  /** The policy's applications to sync. */
  apps: readonly string[];
  /** Read only: list what would be created. */
  dryRun: boolean;
  /** Where connector writes are audited (the CLI's store); absent for the demo's and tests' seeding. */
  audit?: Pick<Store, 'step'>;
  /** Names this run in step keys and correlation ids. */
  runId: string;
  signal?: AbortSignal;
};

const ACTOR = { type: 'system', id: 'entitlements-sync' } as const;

/** The entitlement names the policy declares for `app`, in the policy's order. */
export function policyEntitlements(policy: CompiledPolicy, app: string): string[] {
  return [...policy.entitlements.values()].filter((e) => e.app === app).map((e) => e.id);
}

export async function syncEntitlements(policy: CompiledPolicy, connectors: ReadonlyMap<string, Connector>, options: SyncOptions): Promise<SyncReport> {
  const report: SyncReport = { containers: [], entitlements: [] };
  for (const app of options.apps) {
    const names = policyEntitlements(policy, app);
    const connector = connectors.get(app);
    const refuse = (message: string) => report.entitlements.push(...names.map((entitlement) => ({ app, entitlement, status: 'action-required' as const, message })));
    if (!connector) refuse(`${app}: no connector is configured for this application (the connectors file, or the ldap settings)`);
    else if (!can(connector, 'entitlement-sync')) refuse(`${app}: its connector cannot find or create entitlements; create them in the application`);
    else await syncApp(app, names, connector, options, report);
  }
  return report;
}

async function syncApp(
  app: string,
  names: readonly string[],
  connector: Connector & Required<Pick<Connector, 'findEntitlement' | 'ensureEntitlement'>>,
  options: SyncOptions,
  report: SyncReport,
): Promise<void> {
  const call = (key: string): CallContext => ({
    idempotencyKey: `entitlements-sync/${options.runId}/${app}/${key}`,
    correlationId: `entitlements-sync/${options.runId}`,
    signal: options.signal ?? new AbortController().signal,
  });
  const retried = <T>(fn: () => Promise<T>) => withRetries(fn, options.signal ? { signal: options.signal } : {});

  if (connector.ensureContainers) {
    const ensure = connector.ensureContainers.bind(connector);
    let containers = await retried(() => ensure({ create: false }, call('containers')));
    const creatable = containers.some((c) => c.status === 'missing' && c.managed && !c.detail);
    if (creatable && !options.dryRun) {
      containers = await audited(options.audit, {
        key: call('containers').idempotencyKey,
        intent: { actor: ACTOR, action: 'directory.ous-ensure-requested', reason: `entitlements sync: managed OUs of ${app} are missing`, changes: [{ op: 'ensureContainers', app }] },
        done: (result) => ({
          actor: ACTOR,
          action: 'directory.ous-ensured',
          reason: `entitlements sync: ${result.map((c) => `${c.id} ${c.status}`).join('; ')}`.slice(0, 2000),
          changes: result.map((c) => ({ op: 'ensureContainer', app, fields: [c.role], outcome: c.status })),
        }),
        perform: () => retried(() => ensure({ create: true }, call('containers'))),
      });
    }
    for (const c of containers) {
      const wouldCreate = options.dryRun && c.status === 'missing' && c.managed && !c.detail;
      report.containers.push({ app, ...c, status: wouldCreate ? 'would-create' : c.status });
    }
  }

  for (const name of names) {
    const found = await retried(() => connector.findEntitlement({ name }, call(name)));
    if (found.status === 'existing') report.entitlements.push({ app, entitlement: name, status: 'existing', id: found.entitlement.id });
    else if (found.status === 'action-required') report.entitlements.push({ app, entitlement: name, status: 'action-required', message: found.message });
    else if (options.dryRun) report.entitlements.push({ app, entitlement: name, status: 'would-create' });
    else {
      const change = { op: 'ensureEntitlement', app, entitlement: name };
      const result = await audited(options.audit, {
        key: call(name).idempotencyKey,
        intent: { actor: ACTOR, action: 'entitlement.create-requested', reason: `entitlements sync: ${name} is missing in ${app}`, changes: [change] },
        done: (r) => ({ actor: ACTOR, action: 'entitlement.ensured', reason: `entitlements sync: ${name} in ${app}: ${r.status}`, changes: [{ ...change, outcome: r.status }] }),
        perform: () => retried(() => connector.ensureEntitlement({ name }, call(name))),
      });
      report.entitlements.push(
        result.status === 'action-required'
          ? { app, entitlement: name, status: 'action-required', message: result.message }
          : { app, entitlement: name, status: result.status, id: result.entitlement.id },
      );
    }
  }
}

type AuditedWrite<T> = { key: string; intent: AuditEntry; done: (result: T) => AuditEntry; perform: () => Promise<T> };

/** The write between its intent and result records when there is an audit trail; else just the write. */
async function audited<T>(audit: Pick<Store, 'step'> | undefined, write: AuditedWrite<T>): Promise<T> {
  if (!audit) return write.perform();
  const { perform, ...step } = write;
  return audit.step<T>(
    {
      ...step,
      failed: (err) => ({
        actor: ACTOR,
        action: 'entitlements-sync.failed',
        reason: `entitlements sync: ${err instanceof Error ? err.name : 'error'}`,
        changes: step.intent.changes ?? [],
      }),
    },
    perform,
  );
}

/** Counts per status, for the summary line. */
export function summarize(report: SyncReport): Record<'created' | 'existing' | 'would-create' | 'action-required', number> {
  const counts = { created: 0, existing: 0, 'would-create': 0, 'action-required': 0 };
  for (const line of report.entitlements) counts[line.status] += 1;
  for (const c of report.containers) {
    if (c.status === 'created' || c.status === 'would-create') counts[c.status] += 1;
    else if (c.status === 'missing') counts['action-required'] += 1;
  }
  return counts;
}

/**
 * The demo's and the tests' seeding: every application of the policy that has a connector, its
 * containers and entitlements made to exist. Throws when something needs a person; returns how
 * many were created.
 */
export async function ensurePolicyEntitlements(policy: CompiledPolicy, connectors: ReadonlyMap<string, Connector>): Promise<number> {
  const apps = [...policy.applications.keys()].filter((app) => connectors.has(app));
  const report = await syncEntitlements(policy, connectors, { apps, dryRun: false, runId: 'seed' });
  const blocked = [
    ...report.entitlements.flatMap((l) => (l.status === 'action-required' ? [l.message] : [])),
    ...report.containers.flatMap((c) => (c.status === 'missing' ? [`${c.app}: ${c.role} OU ${c.id} is missing (${c.detail ?? 'not created'})`] : [])),
  ];
  if (blocked.length > 0) throw new Error(`the policy's entitlements could not all be made to exist: ${blocked.join('; ')}`);
  return summarize(report).created;
}

// `provisioner entitlements sync <app> | --all [--dry-run]`: makes the policy's entitlements exist
// in an application: finds each group by name, creates the missing ones (and, in a directory, the
// OUs the configuration says to manage), idempotently. One line per entitlement, then a summary;
// exit status 1 when anything needs a person (two groups with one name, an OU we may not create).
// Writes are audited in the store (actor system:entitlements-sync): the intent before the
// connector call, the result after; a dry run reads only and needs no store.
import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { summarize, syncEntitlements, type SyncReport } from '../../activities/entitlement-sync.js';
import { loadConnectorsFile } from '../../connectors/config.js';
import { createLogger } from '../../observability/logger.js';
import { connectorsForPolicy } from '../../runtime/connectors.js';
import { loadPolicyOrThrow } from '../../runtime/worker.js';
import { loadConfig } from '../../schemas/config.js';
import { openStore } from '../../store/open-store.js';
import type { Store } from '../../store/store.js';
import { CommandFailure } from '../failure.js';
import { say } from '../say.js';

/** The report as the lines a person reads: containers, then one line per entitlement. */
export function formatSyncReport(report: SyncReport, dryRun: boolean): string[] {
  const appWidth = Math.max(3, ...report.entitlements.map((l) => l.app.length), ...report.containers.map((c) => c.app.length));
  const nameWidth = Math.max(11, ...report.entitlements.map((l) => l.entitlement.length));
  const lines = report.containers.map((c) => {
    const what = { existing: 'exists', created: 'created', 'would-create': 'would create', missing: `missing: ${c.detail ?? 'not created'}` }[c.status];
    return `${c.app.padEnd(appWidth)}  ${`${c.role} OU`.padEnd(nameWidth)}  ${what} (${c.id})`;
  });
  for (const l of report.entitlements) {
    const what =
      l.status === 'existing' || l.status === 'created'
        ? `${l.status === 'existing' ? 'exists' : 'created'} (id ${l.id})`
        : l.status === 'would-create'
          ? 'would create'
          : `action-required: ${l.message}`;
    lines.push(`${l.app.padEnd(appWidth)}  ${l.entitlement.padEnd(nameWidth)}  ${what}`);
  }
  const n = summarize(report);
  const apps = new Set([...report.entitlements.map((l) => l.app), ...report.containers.map((c) => c.app)]).size;
  const counts = dryRun ? `${n['would-create']} would be created, ${n.existing} exist` : `${n.created} created, ${n.existing} exist`;
  lines.push(`entitlements sync${dryRun ? ' (dry run, nothing written)' : ''}: ${report.entitlements.length} entitlement(s) in ${apps} application(s): ${counts}, ${n['action-required']} action-required`);
  return lines;
}

/** The applications to sync: the one named, or every one of the policy with --all. */
function chooseApps(all: readonly string[], app: string | undefined, everything: boolean): string[] {
  if (app && everything) throw new CommandFailure('entitlements sync: name one application or give --all, not both');
  if (everything) return [...all];
  if (!app) throw new CommandFailure(`entitlements sync: name an application (${all.join(', ')}) or give --all`);
  if (!all.includes(app)) throw new CommandFailure(`entitlements sync: the policy has no application ${JSON.stringify(app)}; its applications: ${all.join(', ')}`);
  return [app];
}

/** Opens the store whose audit trail records the writes; a store without tables gets a message, not a stack trace. */
async function auditTrail(): Promise<Store> {
  const store = await openStore(loadConfig());
  try {
    await store.pool.query('select 1 from audit_records limit 1');
  } catch (err) {
    await store.close();
    if ((err as { code?: string }).code === '42P01') throw new CommandFailure(`entitlements sync: the store in schema ${store.schema} has no audit trail yet: start the worker once, which migrates it (or use --dry-run)`);
    throw err;
  }
  return store;
}

export function registerEntitlementsCommands(program: Command): void {
  const entitlements = program.command('entitlements').description("the policy's entitlements in the applications");
  entitlements
    .command('sync')
    .description("make the policy's entitlements exist in an application: find each group by name, create the missing ones (audited); exit 1 when something needs a person")
    .argument('[app]', 'the application (a policy application id)')
    .option('--all', 'every application of the policy')
    .option('--dry-run', 'list what would be created; write nothing')
    .action(async (app: string | undefined, opts: { all?: boolean; dryRun?: boolean }) => {
      const cfg = loadConfig();
      const policy = loadPolicyOrThrow(cfg.policy.dir);
      const apps = chooseApps([...policy.applications.keys()], app, !!opts.all);
      const dryRun = !!opts.dryRun;
      const logger = createLogger({ level: 'warn', name: 'entitlements-sync' });
      const { connectors } = connectorsForPolicy(cfg, policy, loadConnectorsFile(cfg.connectors.file), logger);
      const store = dryRun ? undefined : await auditTrail();
      try {
        const report = await syncEntitlements(policy, connectors, { apps, dryRun, runId: randomUUID(), ...(store ? { audit: store } : {}) });
        for (const line of formatSyncReport(report, dryRun)) say(line);
        const blocked = summarize(report)['action-required'];
        if (blocked > 0) throw new CommandFailure(`entitlements sync: ${blocked} need a person (the lines marked action-required and missing say what to fix); run it again afterwards`);
      } finally {
        for (const c of connectors.values()) await c.close?.().catch(() => undefined);
        await store?.close();
      }
    });
}

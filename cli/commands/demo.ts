// `provisioner demo`: the local stack, the demo SCIM apps and `provisioner dev`, then a few sample
// hires published to Kafka and followed until every account exists. Leaves everything running.
// Any step that fails or passes its deadline ends the demo at once with one line naming the step
// and its log (demo-steps.ts).
import { demoMetricsLines } from './demo-metrics.js';
import { demoPrometheusLines } from './demo-prometheus.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { EntitlementCatalog } from '../../activities/entitlement-catalog.js';
import { ensurePolicyEntitlements } from '../../activities/entitlement-sync.js';
import { createLogger } from '../../observability/logger.js';
import { connectorsForPolicy } from '../../runtime/connectors.js';
import { loadPolicyOrThrow } from '../../runtime/worker.js';
import { Client, Connection } from '@temporalio/client';
import { dataConverter } from '../../codec/data-converter.js';
import { getState, identityWorkflowId, type IdentityState } from '../../workflows/messages.js';
import { createKafka } from '../../kafka/client.js';
import { publishEventFile, validateEventFile } from '../../ingress/event-files.js';
import { devLogFile, devProcessRunning, devProcessUp, DevProcessWatch } from '../dev-process.js';
import { loadConfig, projectRoot, type Config } from '../../schemas/config.js';
import type { HrEvent } from '../../schemas/events.js';
import { isAlive } from '../../stack/processes.js';
import { stackUp } from '../../stack/stack.js';
import { temporalUiUrl } from '../../stack/temporal.js';
import { appsUp, appTokenFile } from '../../targets/apps-command.js';
import { loadConnectorsFile, type ConnectorConfig } from '../../connectors/config.js';
import { appsOptions } from './apps.js';
import { say } from '../say.js';
import { productionReadiness } from './config.js';
import { demoAccessRequest } from './demo-request.js';
import { demoReconcile } from './demo-reconcile.js';
import { demoHrChanges } from './demo-hr.js';
import { read, step, watchProcesses, type ProcessWatch } from './demo-steps.js';
import { CommandFailure, oneLine } from '../failure.js';
import type { Connector } from '../../connectors/contract.js';
import { connectTemporal } from '../../clients/temporal-connection.js';
import { loginSettings } from '../login/token-source.js';

type AccountRow = { employeeId: string; app: string; accountId: string; groups: string[] };

/** Polls each hire's identity workflow until it has applied its event and has nothing pending. */
async function waitForConvergence(client: Client, events: readonly HrEvent[], timeoutMs: number, devLog: string): Promise<Map<string, IdentityState>> {
  const results = new Map<string, IdentityState>();
  const deadline = Date.now() + timeoutMs;
  for (const event of events) {
    const handle = client.workflow.getHandle(identityWorkflowId(event.subject));
    let last = 'no answer yet';
    for (;;) {
      let state: IdentityState | undefined;
      try {
        state = await handle.query(getState);
        last = `status ${state.status}, ${state.pendingEvents} event(s) pending`;
      } catch (err) {
        last = oneLine((err as Error).message); // not started yet, or no worker answering
      }
      if (state && state.lastAppliedSequence >= event.data.sequence && state.pendingEvents === 0 && state.status !== 'provisioning') {
        results.set(event.id, state);
        break;
      }
      if (Date.now() > deadline) throw new Error(`${event.subject} has not converged after ${timeoutMs / 1000} s (${last}); see the Temporal UI and ${devLog}`);
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  return results;
}

/**
 * The file's events as the HRIS emits them now: each line's CloudEvents `time` becomes the moment
 * the demo publishes it (time to provision counts from it); ids and effective dates stay the file's.
 */
export function emittedNow(text: string, now = new Date().toISOString()): string {
  return text
    .split('\n')
    .map((line) => {
      try {
        const event: unknown = JSON.parse(line);
        return typeof event === 'object' && event !== null && 'time' in event ? JSON.stringify({ ...event, time: now }) : line;
      } catch {
        return line;
      }
    })
    .join('\n');
}

/** The hires' accounts as the apps report them (each read with a fresh deadline, retried while an app is slow). */
async function readBack(connectors: ReadonlyMap<string, Connector>, catalog: EntitlementCatalog, employeeIds: readonly string[]): Promise<AccountRow[]> {
  const rows: AccountRow[] = [];
  for (const employeeId of employeeIds) {
    for (const [app, connector] of connectors) {
      const account = await read((call) => connector.getAccount({ employeeId }, call));
      if (account) rows.push({ employeeId, app, accountId: account.id, groups: await read((call) => catalog.namesOf(app, account.entitlements ?? [], call)) });
    }
  }
  return rows;
}

function printHires(events: readonly HrEvent[], results: ReadonlyMap<string, IdentityState>, rows: readonly AccountRow[]): void {
  say('');
  for (const event of events) {
    const state = results.get(event.id)!;
    const waiting = state.awaitingApproval.map((g) => `${g.step.app}:${g.step.entitlementId ?? g.step.action}`);
    say(`  ${event.subject} ${event.data.department ?? ''} (${event.data.region ?? '-'}): ${state.status}${waiting.length > 0 ? `; awaiting approval: ${waiting.join(', ')}` : ''}`);
    for (const r of rows.filter((x) => x.employeeId === event.subject)) say(`      ${r.app.padEnd(10)} ${r.accountId.slice(0, 60).padEnd(40)} ${r.groups.join(', ')}`);
  }
}

function printWhereToLook(cfg: Config, connectorConfigs: readonly ConnectorConfig[], ticketId: string, started: number): void {
  const ui = temporalUiUrl(cfg);
  say('');
  say(`  Temporal UI, the identity workflows: ${ui}/namespaces/${cfg.temporal.namespace}/workflows?query=${encodeURIComponent('WorkflowType="identityLifecycle"')}`);
  const scimApps = connectorConfigs.flatMap((c) => (c.type === 'scim' ? [`${c.app} ${c.baseUrl}/Users`] : []));
  say(`  SCIM apps: ${scimApps.join(', ')} (bearer tokens in ${path.relative(projectRoot, appTokenFile(cfg.dataDir, '<app>'))}); LDAP ${cfg.ldap.url} ${cfg.ldap.baseDn}`);
  say(`  the request: ${ui}/namespaces/${cfg.temporal.namespace}/workflows?query=${encodeURIComponent(`WorkflowType="accessRequest"`)}    npx provisioner request ${ticketId}`);
  say(`  approvals: npx provisioner login (sign in at the local IdP ${loginSettings(cfg)?.issuer ?? ''} as E1001, password dev-ada: ${path.relative(projectRoot, cfg.stack.idpPeopleFile)}), then npx provisioner approvals; whoami, logout`);
  say('  reconciliation: npx provisioner reconcile <app> [--dry-run], npx provisioner drift [--app] [--kind]; failing apps: npx provisioner quarantine list; the fence: npx provisioner fence list');
  say('  a policy change without a restart: npx provisioner policy apply --reason <why> (as an admin, E9004), then npx provisioner policy rollout');
  say(`  audit: npx provisioner audit verify (the signed chain, and its checkpoints in ${path.relative(projectRoot, cfg.audit.checkpointsFile)} and on ${cfg.kafka.topics.audit})`);
  say('  dead letters: npx provisioner dlq list [--topic itsm]        outcomes: topic provisioning.outcomes');
  say('  traces: PROVISIONER_OTLP_ENDPOINT=http://<collector>:4318 (an OpenTelemetry collector, Jaeger or Tempo) for the processes: one trace per hire, from the Kafka message to each SCIM and LDAP call');
  say('  failover drills: npx provisioner drill list; npx provisioner drill run worker-kill --joiners 100 --kills 5 (a pipeline of its own; the report in drills/reports/)');
  const unfit = productionReadiness(cfg);
  say(`  production: ${unfit.length === 0 ? 'this configuration is fit for production mode' : `production mode would refuse this demo's ${unfit.length} development defaults (keys, tokens, passwords it made): npx provisioner config check`}; the secured stack: npx provisioner stack up --secure`);
  say(`  logs: ${path.join(cfg.dataDir, 'logs')}/    stop everything: npx provisioner stack down    (demo took ${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

/**
 * The eight steps. Each has a deadline and fails with one line naming it and its log; from step 4
 * on, a demo process that dies fails the step at once. A first run builds Temporal and fetches
 * Kafka (minutes); every other step takes seconds.
 */
async function runDemo(cfg: Config, eventsFile: string): Promise<void> {
  const started = Date.now();
  const logs = path.join(cfg.dataDir, 'logs');
  const devLog = devLogFile(cfg);
  const indent = (l: string) => say(`  ${l}`);
  // The hires are checked first: a bad file fails before anything is started.
  const validated = validateEventFile(emittedNow(readFileSync(eventsFile, 'utf8')));
  if (validated.errors.length > 0) throw new CommandFailure(`demo: ${eventsFile} has invalid lines: ${validated.errors.map((e) => `line ${e.line}: ${oneLine(e.reason)}`).join('; ')}`);
  const hires = validated.events.flatMap((line) => (line.feed === 'hr' ? [line.event] : []));
  if (hires.length !== validated.events.length) throw new CommandFailure(`demo: ${eventsFile} holds ITSM events; the demo publishes HR events only`);

  await step(1, 'the local stack (Kafka, Temporal, PostgreSQL, slapd)', { name: 'the local stack', deadlineMs: 45 * 60_000, log: logs }, say, () => stackUp(cfg, indent));
  const policy = loadPolicyOrThrow(cfg.policy.dir);
  const connectorConfigs = loadConnectorsFile(cfg.connectors.file);
  const { connectors } = connectorsForPolicy(cfg, policy, connectorConfigs, createLogger({ level: 'silent' }));
  let connection: Connection | undefined;
  let watch: ProcessWatch | undefined;
  try {
    const apps = await step(2, 'the demo SCIM apps', { name: 'the demo SCIM apps', deadlineMs: 3 * 60_000, log: logs }, say, async () => {
      const running = await appsUp({ ...appsOptions(cfg), log: indent });
      const seeded = await ensurePolicyEntitlements(policy, connectors);
      indent(`the groups of the policy's entitlements exist in each app (${seeded} created now)`);
      return running;
    });
    const devWatch = await step(3, 'provisioner dev (worker + ingress + API)', { name: 'provisioner dev', deadlineMs: 5 * 60_000, log: devLog }, say, async () => {
      await devProcessUp(cfg, projectRoot, indent);
      return new DevProcessWatch(devLog);
    });
    watch = watchProcesses(
      [
        { name: 'provisioner dev', alive: () => devProcessRunning(cfg), logFile: devLog },
        ...apps.map((a) => ({ name: `the ${a.name} app`, alive: () => a.pid !== undefined && isAlive(a.pid), logFile: a.logFile })),
      ],
      devWatch,
    );
    const watched = { log: devLog, watch };

    const title4 = `publishing ${hires.length} hires to ${cfg.kafka.topics.hrLifecycle}, and one malformed event to show the dead-letter topic`;
    await step(4, title4, { ...watched, name: 'publishing the hires', deadlineMs: 60_000 }, say, async () => {
      await publishEventFile(cfg, validated);
      const producer = createKafka(cfg).producer();
      await producer.connect();
      try {
        await producer.send({ topic: cfg.kafka.topics.hrLifecycle, messages: [{ key: 'E1999', value: '{"type":"hr.worker.hired","data":' }] });
      } finally {
        await producer.disconnect();
      }
    });

    const catalog = new EntitlementCatalog(connectors);
    const title5 = "waiting until each hire's identity workflow has converged";
    const { client, results, rows } = await step(5, title5, { ...watched, name: 'the hires converging', deadlineMs: 4 * 60_000 }, say, async () => {
      connection = await connectTemporal(cfg);
      const client = new Client({ connection, namespace: cfg.temporal.namespace, dataConverter: dataConverter(cfg.dataDir, cfg.mode) });
      const results = await waitForConvergence(client, hires, 180_000, devLog);
      return { client, results, rows: await readBack(connectors, catalog, hires.map((e) => e.subject)) };
    });
    printHires(hires, results, rows);
    say(`  policy ${policy.version} (${cfg.policy.dir}): crm is EU-only, so US hires have no crm account; sensitive entitlements wait for approval`);
    say('  crm plays a SaaS API as they really are (config/apps.yaml profile saas): no `groups` on users, its own base path, no ETags; the connector reads memberships there from its Groups endpoint');

    const title6 = 'an access request from the ITSM: approved, granted, and revoked when its time is up';
    const request = await step(6, title6, { ...watched, name: 'the access request', deadlineMs: 5 * 60_000 }, say, () =>
      demoAccessRequest({ cfg, client, connectors, catalog, say: (l) => say(l) }),
    );

    const title7 = 'HR changes: a new family name and title, a hire dated ahead, a last day twenty seconds away';
    const hr = await step(7, title7, { ...watched, name: 'the HR changes', deadlineMs: 5 * 60_000 }, say, () => demoHrChanges({ cfg, client, connectors, hires, say: (l) => say(l) }));
    const title8 = 'reconciliation: changes an app admin made by hand in chat, found and put right';
    await step(8, title8, { ...watched, name: 'the reconciliation', deadlineMs: 5 * 60_000 }, say, () => demoReconcile({ cfg, connectors, catalog, say: (l) => say(l) }));
    for (const line of await demoMetricsLines(cfg)) say(`  ${line}`);
    for (const line of demoPrometheusLines(cfg)) say(`  ${line}`);
    say('  on call: npx provisioner status (what needs someone, with the list behind each count); alert rules ops/prometheus/provisioner-alerts.yml, dashboard ops/grafana/provisioner-dashboard.json, runbook docs/runbook.md');
    printWhereToLook(cfg, connectorConfigs, request.ticketId, started);
    say(
      `demo: provisioned ${rows.length} accounts across ${new Set(rows.map((r) => r.app)).size} apps; access request ${request.ticketId} approved, granted and expired; ${hr.updated} updated, ${hr.prehired} waiting for the start, ${hr.left} disabled on the last day; chat reconciled: a group removed by hand restored, a hand-made account disabled`,
    );
  } finally {
    // The servers, the apps and provisioner dev stay up (the closing lines say how to stop them);
    // the demo's own connections close so that it exits.
    watch?.stop();
    await connection?.close().catch(() => undefined);
    for (const c of connectors.values()) await c.close?.().catch(() => undefined);
  }
}

export function registerDemoCommands(program: Command): void {
  program
    .command('demo')
    .description('run the demo: stack, apps, provisioner dev, sample hires provisioned into the apps, an access request approved and expiring')
    .option('--events <file>', 'the hires to publish', path.join(projectRoot, 'demo', 'events', 'hires.jsonl'))
    .action((opts: { events: string }) => runDemo(loadConfig(), opts.events));
}

// `provisioner demo`: the local stack, the demo SCIM apps and `provisioner dev`, then a few sample
// hires published to Kafka and followed until every account exists. Leaves everything running.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { EntitlementCatalog } from '../../activities/entitlement-catalog.js';
import { createLogger } from '../../observability/logger.js';
import { connectorsForPolicy } from '../../runtime/connectors.js';
import { seedEntitlements } from '../../runtime/seed-entitlements.js';
import { loadPolicyOrThrow } from '../../runtime/worker.js';
import { Client, Connection } from '@temporalio/client';
import { dataConverter } from '../../codec/data-converter.js';
import { getState, identityWorkflowId, type IdentityState } from '../../workflows/messages.js';
import { createKafka } from '../../ingress/kafka.js';
import { publishEventFile, validateEventFile } from '../../ingress/event-files.js';
import { devProcessUp } from '../../runtime/dev-process.js';
import { loadConfig, projectRoot } from '../../schemas/config.js';
import { stackUp } from '../../stack/stack.js';
import { temporalUiUrl } from '../../stack/temporal.js';
import { appsUp, appTokenFile } from '../../targets/apps-command.js';
import { loadConnectorsFile } from '../../connectors/config.js';
import { appsOptions } from './apps.js';
import { say } from '../say.js';
import { demoAccessRequest } from './demo-request.js';


const call = { idempotencyKey: 'demo-read', correlationId: 'demo', signal: AbortSignal.timeout(120_000) };

export function registerDemoCommands(program: Command): void {
  program
    .command('demo')
    .description('run the demo: stack, apps, provisioner dev, sample hires provisioned into the apps, an access request approved and expiring')
    .option('--events <file>', 'the hires to publish', path.join(projectRoot, 'demo', 'events', 'hires.jsonl'))
    .action(async (opts: { events: string }) => {
      const cfg = loadConfig();
      const started = Date.now();
      say('demo: 1/6 the local stack (Kafka, Temporal, PostgreSQL, slapd)');
      await stackUp(cfg, (l) => say(`  ${l}`));
      say('demo: 2/6 the demo SCIM apps');
      await appsUp({ ...appsOptions(cfg), log: (l) => say(`  ${l}`) });
      const policy = loadPolicyOrThrow(cfg.policy.dir);
      const connectorConfigs = loadConnectorsFile(cfg.connectors.file);
      const { connectors } = connectorsForPolicy(cfg, policy, connectorConfigs, createLogger({ level: 'silent' }));
      const seeded = await seedEntitlements(policy, connectorConfigs, connectors);
      say(`  the groups of the policy's entitlements exist in each app (${seeded} created now)`);
      say('demo: 3/6 provisioner dev (worker + ingress + API)');
      await devProcessUp(cfg, projectRoot, (l) => say(`  ${l}`));

      const validated = validateEventFile(readFileSync(opts.events, 'utf8'));
      if (validated.errors.length > 0) throw new Error(`${opts.events} has invalid lines: ${JSON.stringify(validated.errors)}`);
      const hires = validated.events.flatMap((line) => (line.feed === 'hr' ? [line.event] : []));
      if (hires.length !== validated.events.length) throw new Error(`${opts.events} holds ITSM events; the demo publishes HR events only`);
      say(`demo: 4/6 publishing ${hires.length} hires to ${cfg.kafka.topics.hrLifecycle}, and one malformed event to show the dead-letter topic`);
      await publishEventFile(cfg, validated);
      const producer = createKafka(cfg).producer();
      await producer.connect();
      await producer.send({ topic: cfg.kafka.topics.hrLifecycle, messages: [{ key: 'E1999', value: '{"type":"hr.worker.hired","data":' }] });
      await producer.disconnect();

      say('demo: 5/6 waiting until each hire\'s identity workflow has converged');
      const connection = await Connection.connect({ address: cfg.temporal.address });
      const client = new Client({ connection, namespace: cfg.temporal.namespace, dataConverter: dataConverter(cfg.dataDir) });
      const results = new Map<string, IdentityState>();
      const deadline = Date.now() + 180_000;
      for (const event of hires) {
        const handle = client.workflow.getHandle(identityWorkflowId(event.subject));
        for (;;) {
          const state = await handle.query(getState).catch(() => undefined);
          if (state && state.lastAppliedSequence >= event.data.sequence && state.pendingEvents === 0 && state.status !== 'provisioning') {
            results.set(event.id, state);
            break;
          }
          if (Date.now() > deadline) throw new Error(`demo: ${event.subject} has not converged after 180 s; see .provisioner/logs/dev.log and the Temporal UI`);
          await new Promise((r) => setTimeout(r, 300));
        }
      }
      const catalog = new EntitlementCatalog(connectors);
      const rows: Array<{ employeeId: string; app: string; accountId: string; groups: string[] }> = [];
      for (const event of hires) {
        for (const [app, connector] of connectors) {
          const account = await connector.getAccount({ employeeId: event.subject }, call);
          if (account) rows.push({ employeeId: event.subject, app, accountId: account.id, groups: await catalog.namesOf(app, account.entitlements ?? [], call) });
        }
      }
      say('');
      for (const event of hires) {
        const state = results.get(event.id)!;
        const waiting = state.awaitingApproval.map((g) => `${g.step.app}:${g.step.entitlementId ?? g.step.action}`);
        say(`  ${event.subject} ${event.data.department ?? ''} (${event.data.region ?? '-'}): ${state.status}${waiting.length > 0 ? `; awaiting approval: ${waiting.join(', ')}` : ''}`);
        for (const r of rows.filter((x) => x.employeeId === event.subject)) say(`      ${r.app.padEnd(10)} ${r.accountId.slice(0, 60).padEnd(40)} ${r.groups.join(', ')}`);
      }
      say(`  policy ${policy.version} (${cfg.policy.dir}): crm is EU-only, so US hires have no crm account; sensitive entitlements wait for approval`);
      say('demo: 6/6 an access request from the ITSM: approved, granted, and revoked when its time is up');
      const request = await demoAccessRequest({ cfg, client, connectors, catalog, say: (l) => say(l) });
      await connection.close();
      for (const c of connectors.values()) await c.close?.();
      const ui = temporalUiUrl(cfg);
      say('');
      say(`  Temporal UI, the identity workflows: ${ui}/namespaces/${cfg.temporal.namespace}/workflows?query=${encodeURIComponent('WorkflowType="identityLifecycle"')}`);
      const scimApps = connectorConfigs.flatMap((c) => (c.type === 'scim' ? [`${c.app} ${c.baseUrl}/Users`] : []));
      say(`  SCIM apps: ${scimApps.join(', ')} (bearer tokens in ${path.relative(projectRoot, appTokenFile(cfg.dataDir, '<app>'))}); LDAP ${cfg.ldap.url} ${cfg.ldap.baseDn}`);
      say(`  the request: ${ui}/namespaces/${cfg.temporal.namespace}/workflows?query=${encodeURIComponent(`WorkflowType="accessRequest"`)}    npx provisioner request ${request.ticketId}`);
      say('  approvals: npx provisioner approvals (with PROVISIONER_API_TOKEN from `npx provisioner api token --dev --sub <id> --roles approver`)');
      say('  dead letters: npx provisioner dlq list [--topic itsm]        outcomes: topic provisioning.outcomes');
      say(`  logs: .provisioner/logs/    stop everything: npx provisioner stack down    (demo took ${((Date.now() - started) / 1000).toFixed(1)} s)`);
      say(`demo: provisioned ${rows.length} accounts across ${new Set(rows.map((r) => r.app)).size} apps; access request ${request.ticketId} approved, granted and expired`);
    });
}

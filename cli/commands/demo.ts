// `provisioner demo`: the local stack, the demo SCIM apps and `provisioner dev`, then a few sample
// hires published to Kafka and followed until every account exists. Leaves everything running.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { ScimConnector } from '../../connectors/scim/scim-connector.js';
import { createKafka } from '../../ingress/kafka.js';
import { publishHrEvents, validateJsonl } from '../../ingress/publisher.js';
import { devProcessUp } from '../../runtime/dev-process.js';
import { loadAppsFile } from '../../schemas/apps.js';
import { loadConfig, projectRoot } from '../../schemas/config.js';
import { stackUp } from '../../stack/stack.js';
import { temporalUiUrl } from '../../stack/temporal.js';
import { appsUp } from '../../targets/apps-command.js';
import { appsOptions } from './apps.js';

const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

const call = { idempotencyKey: 'demo-read', correlationId: 'demo', signal: AbortSignal.timeout(120_000) };

export function registerDemoCommands(program: Command): void {
  program
    .command('demo')
    .description('run the demo: stack, apps, provisioner dev, sample hires provisioned into the apps')
    .option('--events <file>', 'the hires to publish', path.join(projectRoot, 'demo', 'events', 'hires.jsonl'))
    .action(async (opts: { events: string }) => {
      const cfg = loadConfig();
      const started = Date.now();
      say('demo: 1/5 the local stack (Kafka, Temporal, PostgreSQL, slapd)');
      await stackUp(cfg, (l) => say(`  ${l}`));
      say('demo: 2/5 the demo SCIM apps');
      await appsUp({ ...appsOptions(cfg), log: (l) => say(`  ${l}`) });
      say('demo: 3/5 provisioner dev (worker + ingress)');
      await devProcessUp(cfg, projectRoot, (l) => say(`  ${l}`));

      const validated = validateJsonl(readFileSync(opts.events, 'utf8'));
      if (validated.errors.length > 0) throw new Error(`${opts.events} has invalid lines: ${JSON.stringify(validated.errors)}`);
      say(`demo: 4/5 publishing ${validated.events.length} hires to ${cfg.kafka.topics.hrLifecycle}, and one malformed event to show the dead-letter topic`);
      await publishHrEvents(cfg, validated);
      const producer = createKafka(cfg).producer();
      await producer.connect();
      await producer.send({ topic: cfg.kafka.topics.hrLifecycle, messages: [{ key: 'E1999', value: '{"type":"hr.worker.hired","data":' }] });
      await producer.disconnect();

      say('demo: 5/5 waiting until every hire has an account in every app');
      const resolvedApps = loadAppsFile(cfg.apps.file, { root: projectRoot });
      const scim = resolvedApps.map((a) => new ScimConnector({ app: a.name, baseUrl: a.scimUrl, bearerToken: () => a.bearerTokens[0]! }));
      const rows: Array<{ employeeId: string; app: string; accountId: string; userName: string }> = [];
      const deadline = Date.now() + 120_000;
      for (const event of validated.events) {
        for (const connector of scim) {
          for (;;) {
            const account = await connector.getAccount({ employeeId: event.subject }, call).catch(() => undefined);
            if (account) {
              rows.push({ employeeId: event.subject, app: connector.app, accountId: account.id, userName: account.userName });
              break;
            }
            if (Date.now() > deadline) throw new Error(`demo: ${event.subject} was not provisioned in ${connector.app} within 120 s; see .provisioner/logs/dev.log`);
            await new Promise((r) => setTimeout(r, 250));
          }
        }
      }
      say('');
      say(`  ${'employee'.padEnd(9)} ${'app'.padEnd(6)} ${'account id'.padEnd(38)} userName`);
      for (const r of rows) say(`  ${r.employeeId.padEnd(9)} ${r.app.padEnd(6)} ${r.accountId.padEnd(38)} ${r.userName}`);
      const ui = temporalUiUrl(cfg);
      say('');
      say(`  Temporal UI, the identity workflows: ${ui}/namespaces/${cfg.temporal.namespace}/workflows?query=${encodeURIComponent('WorkflowType="identityLifecycle"')}`);
      say(`  SCIM apps: ${resolvedApps.map((a) => `${a.name} ${a.scimUrl}/Users`).join(', ')} (bearer tokens in config/apps.yaml)`);
      say('  dead letters: npx provisioner dlq list        outcomes: topic provisioning.outcomes');
      say(`  logs: .provisioner/logs/    stop everything: npx provisioner stack down    (demo took ${((Date.now() - started) / 1000).toFixed(1)} s)`);
      say(`demo: provisioned ${rows.length} accounts across ${new Set(rows.map((r) => r.app)).size} apps`);
    });
}

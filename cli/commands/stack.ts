// `provisioner stack up | down | status`
import type { Command } from 'commander';
import path from 'node:path';
import { CLUSTER_STACK_CONFIG, ConfigError, loadConfig, projectRoot, SECURE_STACK_CONFIG, type Config } from '../../schemas/config.js';
import { isLocalKafkaCluster } from '../../stack/kafka-cluster.js';
import { formatStatus, stackDown, stackStatus, stackUp, type ServerName } from '../../stack/stack.js';
import { temporalUiUrl } from '../../stack/temporal.js';
import { prometheusUrl, prometheusWanted } from '../../stack/prometheus.js';
import { devProcessDown } from '../dev-process.js';
import { appsDown } from '../../targets/apps-command.js';
import { appsOptions } from './apps.js';
import { say } from '../say.js';

type StackOptions = { secure?: boolean; cluster?: boolean; prometheus?: boolean };

/** The stack's own configuration file: --secure's or --cluster's, none for the plain stack. */
function stackFile(opts: StackOptions): string | undefined {
  if (opts.secure && opts.cluster) throw new Error('stack: --secure and --cluster are two stacks; choose one');
  return opts.secure ? SECURE_STACK_CONFIG : opts.cluster ? CLUSTER_STACK_CONFIG : undefined;
}

/**
 * The plain stack's configuration, or with --secure the secured stack's (examples/secure-stack.yaml),
 * with --cluster the three-broker Kafka cluster's (examples/cluster-stack.yaml); --prometheus adds Prometheus.
 */
function stackConfig(opts: StackOptions): Config {
  const file = stackFile(opts);
  const cfg = file ? loadConfig({ file: path.join(projectRoot, file) }) : loadConfig();
  // The environment wins over the file: KAFKA_BROKERS would silently turn --cluster into that broker.
  if (opts.cluster && !isLocalKafkaCluster(cfg)) {
    throw new ConfigError(`stack: --cluster runs the brokers of ${CLUSTER_STACK_CONFIG}, and KAFKA_BROKERS (${cfg.kafka.brokers.join(',')}) overrides them; unset KAFKA_BROKERS for this command`);
  }
  return opts.prometheus ? { ...cfg, stack: { ...cfg.stack, prometheus: true } } : cfg;
}

const flagOf = (opts: StackOptions) => (opts.secure ? ' --secure' : opts.cluster ? ' --cluster' : '');

const SERVER_NAMES = 'kafka temporal postgres slapd idp prometheus';

export function registerStackCommands(program: Command): void {
  const stack = program.command('stack').description('the local Kafka, Temporal, PostgreSQL and slapd servers, the development IdP, and Prometheus when asked for');
  stack
    .command('up')
    .description('obtain and start the servers (idempotent: reuses what is healthy)')
    .argument('[servers...]', `only these: ${SERVER_NAMES}`)
    .option('--secure', `the secured stack (${SECURE_STACK_CONFIG}): a development CA, TLS and credentials on every server`)
    .option('--cluster', `Kafka as a three-broker KRaft cluster (${CLUSTER_STACK_CONFIG}): replication factor 3, min.insync.replicas 2, beside the plain stack's broker`)
    .option('--prometheus', 'also a local Prometheus scraping the provisioner processes (stack.prometheus; built once with go install, minutes)')
    .action(async (only: ServerName[], opts: StackOptions) => {
      const cfg = stackConfig(opts);
      const started = Date.now();
      await stackUp(cfg, say, only);
      const prometheus = prometheusWanted(cfg) || only.includes('prometheus') ? `; Prometheus ${prometheusUrl(cfg)}` : '';
      say(`stack: up in ${((Date.now() - started) / 1000).toFixed(1)} s; ${cfg.stack.secure ? 'Temporal without a UI (TLS, client certificates)' : `Temporal UI ${temporalUiUrl(cfg)}`}${prometheus}; stop with \`npx provisioner stack down${flagOf(opts)}\``);
      const file = stackFile(opts);
      if (file) say(`stack: the other commands take the same configuration: PROVISIONER_CONFIG=${file} npx provisioner ...`);
    });
  stack
    .command('down')
    .description('stop the servers the project started (by PID), and the demo processes')
    .argument('[servers...]', `only these: ${SERVER_NAMES}`)
    .option('--secure', 'the secured stack')
    .option('--cluster', 'the three-broker Kafka cluster\'s stack (stops the servers it started: the brokers)')
    .action(async (only: ServerName[], opts: StackOptions) => {
      const cfg = stackConfig(opts);
      if (only.length === 0) {
        // The demo's processes go first: they depend on the servers.
        say(`dev: ${(await devProcessDown(cfg)) ? 'stopped' : 'was not running'}`);
        await appsDown(appsOptions(cfg));
      }
      await stackDown(cfg, say, only);
    });
  stack
    .command('status')
    .description('what runs and whether it is healthy (exit 1 if any is down)')
    .option('--json', 'machine-readable output')
    .option('--secure', 'the secured stack')
    .option('--cluster', 'the three-broker Kafka cluster\'s stack (one row per broker)')
    .action(async (opts: { json?: boolean } & StackOptions) => {
      const rows = await stackStatus(stackConfig(opts));
      say(opts.json ? JSON.stringify(rows, null, 2) : formatStatus(rows));
      if (rows.some((r) => !r.healthy)) process.exitCode = 1;
    });
}

// `provisioner stack up | down | status`
import type { Command } from 'commander';
import path from 'node:path';
import { loadConfig, projectRoot, SECURE_STACK_CONFIG, type Config } from '../../schemas/config.js';
import { formatStatus, stackDown, stackStatus, stackUp, type ServerName } from '../../stack/stack.js';
import { temporalUiUrl } from '../../stack/temporal.js';
import { prometheusUrl, prometheusWanted } from '../../stack/prometheus.js';
import { devProcessDown } from '../dev-process.js';
import { appsDown } from '../../targets/apps-command.js';
import { appsOptions } from './apps.js';
import { say } from '../say.js';

/** The plain stack's configuration, or with --secure the secured stack's (examples/secure-stack.yaml); --prometheus adds Prometheus. */
function stackConfig(opts: { secure?: boolean; prometheus?: boolean }): Config {
  const cfg = opts.secure ? loadConfig({ file: path.join(projectRoot, SECURE_STACK_CONFIG) }) : loadConfig();
  return opts.prometheus ? { ...cfg, stack: { ...cfg.stack, prometheus: true } } : cfg;
}

const SERVER_NAMES = 'kafka temporal postgres slapd idp prometheus';

export function registerStackCommands(program: Command): void {
  const stack = program.command('stack').description('the local Kafka, Temporal, PostgreSQL and slapd servers, the development IdP, and Prometheus when asked for');
  stack
    .command('up')
    .description('obtain and start the servers (idempotent: reuses what is healthy)')
    .argument('[servers...]', `only these: ${SERVER_NAMES}`)
    .option('--secure', `the secured stack (${SECURE_STACK_CONFIG}): a development CA, TLS and credentials on every server`)
    .option('--prometheus', 'also a local Prometheus scraping the provisioner processes (stack.prometheus; built once with go install, minutes)')
    .action(async (only: ServerName[], opts: { secure?: boolean; prometheus?: boolean }) => {
      const cfg = stackConfig(opts);
      const started = Date.now();
      await stackUp(cfg, say, only);
      const flag = opts.secure ? ' --secure' : '';
      const prometheus = prometheusWanted(cfg) || only.includes('prometheus') ? `; Prometheus ${prometheusUrl(cfg)}` : '';
      say(`stack: up in ${((Date.now() - started) / 1000).toFixed(1)} s; ${cfg.stack.secure ? 'Temporal without a UI (TLS, client certificates)' : `Temporal UI ${temporalUiUrl(cfg)}`}${prometheus}; stop with \`npx provisioner stack down${flag}\``);
      if (opts.secure) say(`stack: the other commands take the same configuration: PROVISIONER_CONFIG=${SECURE_STACK_CONFIG} npx provisioner ...`);
    });
  stack
    .command('down')
    .description('stop the servers the project started (by PID), and the demo processes')
    .argument('[servers...]', `only these: ${SERVER_NAMES}`)
    .option('--secure', 'the secured stack')
    .action(async (only: ServerName[], opts: { secure?: boolean }) => {
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
    .action(async (opts: { json?: boolean; secure?: boolean }) => {
      const rows = await stackStatus(stackConfig(opts));
      say(opts.json ? JSON.stringify(rows, null, 2) : formatStatus(rows));
      if (rows.some((r) => !r.healthy)) process.exitCode = 1;
    });
}

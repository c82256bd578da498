// `provisioner stack up | down | status`
import type { Command } from 'commander';
import { loadConfig } from '../../schemas/config.js';
import { formatStatus, stackDown, stackStatus, stackUp, type ServerName } from '../../stack/stack.js';
import { temporalUiUrl } from '../../stack/temporal.js';
import { devProcessDown } from '../dev-process.js';
import { appsDown } from '../../targets/apps-command.js';
import { appsOptions } from './apps.js';
import { say } from '../say.js';


export function registerStackCommands(program: Command): void {
  const stack = program.command('stack').description('the local Kafka, Temporal, PostgreSQL and slapd servers');
  stack
    .command('up')
    .description('obtain and start the servers (idempotent: reuses what is healthy)')
    .argument('[servers...]', 'only these: kafka temporal postgres slapd')
    .action(async (only: ServerName[]) => {
      const cfg = loadConfig();
      const started = Date.now();
      await stackUp(cfg, say, only);
      say(`stack: up in ${((Date.now() - started) / 1000).toFixed(1)} s; Temporal UI ${temporalUiUrl(cfg)}; stop with \`npx provisioner stack down\``);
    });
  stack
    .command('down')
    .description('stop the servers the project started (by PID), and the demo processes')
    .argument('[servers...]', 'only these: kafka temporal postgres slapd')
    .action(async (only: ServerName[]) => {
      const cfg = loadConfig();
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
    .action(async (opts: { json?: boolean }) => {
      const rows = await stackStatus(loadConfig());
      say(opts.json ? JSON.stringify(rows, null, 2) : formatStatus(rows));
      if (rows.some((r) => !r.healthy)) process.exitCode = 1;
    });
}

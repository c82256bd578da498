// `provisioner apps up | down | status`: the SCIM target apps of the apps file.
import type { Command } from 'commander';
import { projectRoot, loadConfig, type Config } from '../../schemas/config.js';
import { appsDown, appsStatus, appsUp, formatAppsStatus, type AppsCommandOptions } from '../../targets/apps-command.js';
import { say } from '../say.js';


export function appsOptions(cfg: Config, only?: string[]): AppsCommandOptions {
  return { appsFile: cfg.apps.file, runDir: cfg.dataDir, projectRoot, log: say, logLevel: cfg.logLevel, ...(only ? { only } : {}) };
}

export function registerAppsCommands(program: Command): void {
  const apps = program.command('apps').description('the SCIM 2.0 apps that play SaaS targets (config/apps.yaml)');
  apps
    .command('up')
    .description('start the apps (idempotent: reuses healthy ones)')
    .argument('[names...]', 'only these apps')
    .action(async (names: string[]) => {
      await appsUp(appsOptions(loadConfig(), names));
    });
  apps
    .command('down')
    .description('stop the apps (by PID); their state files are kept')
    .argument('[names...]', 'only these apps')
    .action(async (names: string[]) => {
      await appsDown(appsOptions(loadConfig(), names));
    });
  apps
    .command('status')
    .description('what runs and whether it is healthy (exit 1 if any is down)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const rows = await appsStatus(appsOptions(loadConfig()));
      say(opts.json ? JSON.stringify(rows, null, 2) : formatAppsStatus(rows));
      if (rows.some((r) => !r.healthy)) process.exitCode = 1;
    });
}

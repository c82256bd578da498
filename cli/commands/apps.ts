// `provisioner apps up | down | status`: the SCIM target apps of the apps file. And `provisioner
// apps modes | arm <app> | disarm <app>`: whether each application of the policy is armed (its steps
// are written) or plan-only (planned and audited, nothing written), through the HTTP API as the
// caller of the API token (docs/architecture.md#security): the operator who arms or disarms is that caller, never a
// typed name, and the API audits the change (`application.armed` / `application.disarmed`).
import type { Command } from 'commander';
import type { ApplicationModeAnswer, ApplicationView } from '../../api/routes/applications.js';
import { projectRoot, loadConfig, type Config } from '../../schemas/config.js';
import { appsDown, appsStatus, appsUp, formatAppsStatus, type AppsCommandOptions } from '../../targets/apps-command.js';
import { apiClientFromConfig, segment, TOKEN_FILE_OPTION, type ApiClient } from '../api-client.js';
import { say } from '../say.js';

export function appsOptions(cfg: Config, only?: string[]): AppsCommandOptions {
  return { appsFile: cfg.apps.file, runDir: cfg.dataDir, projectRoot, log: say, logLevel: cfg.logLevel, ...(only ? { only } : {}) };
}

/** Where an application's mode comes from, in words. */
function origin(a: ApplicationView): string {
  if (a.source === 'config') return 'configuration default';
  const who = a.changedBy ?? '(a purged operator)';
  const overrides = a.configDefault !== a.mode ? ` (overrides the configuration's ${a.configDefault})` : '';
  return `${a.mode === 'armed' ? 'armed' : 'disarmed'} by ${who} at ${a.changedAt}${overrides}`;
}

/** The applications of the policy with their modes, one line each (and the operator's reason under it). */
export function formatApplicationModes(apps: readonly ApplicationView[]): string {
  if (apps.length === 0) return 'the policy names no application';
  const width = Math.max('APPLICATION'.length, ...apps.map((a) => a.app.length)) + 2;
  const lines = [`${'APPLICATION'.padEnd(width)}${'CONNECTOR'.padEnd(11)}${'MODE'.padEnd(11)}SET BY`];
  for (const a of apps) {
    lines.push(`${a.app.padEnd(width)}${a.connector.padEnd(11)}${a.mode.padEnd(11)}${origin(a)}`);
    if (a.reason !== undefined) lines.push(`${' '.repeat(width)}reason: ${a.reason}`);
  }
  return lines.join('\n');
}

/** What an arm or a disarm did, in a sentence. */
export function formatModeChange(verb: 'arm' | 'disarm', answer: ApplicationModeAnswer): string {
  const a = answer.application;
  if (!answer.changed) return `${a.app}: already ${a.mode} (${origin(a)}); nothing changed`;
  const effect =
    verb === 'arm'
      ? 'its steps are written from the next change on'
      : 'plan-only: its steps are planned and audited, nothing is written from the next change on';
  return `${a.app} ${verb === 'arm' ? 'armed' : 'disarmed'} by ${a.changedBy ?? 'you'}: ${effect} (the workers pick it up within seconds)`;
}

type Deps = { client?: (opts: { tokenFile?: string }) => ApiClient };

export function registerAppsCommands(program: Command, deps: Deps = {}): void {
  const clientFor = deps.client ?? ((opts: { tokenFile?: string }) => apiClientFromConfig(loadConfig(), opts));
  const apps = program.command('apps').description('the SCIM 2.0 apps that play SaaS targets (config/apps.yaml); the applications\' modes: armed or plan-only');
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

  apps
    .command('modes')
    .description('each application of the policy: armed or plan-only, and who set it when and why (through the API)')
    .option('--json', 'machine-readable output')
    .option(...TOKEN_FILE_OPTION)
    .action(async (opts: { json?: boolean; tokenFile?: string }) => {
      const { applications } = await clientFor(opts).get<{ applications: ApplicationView[] }>('/applications');
      say(opts.json ? JSON.stringify(applications, null, 2) : formatApplicationModes(applications));
    });

  for (const verb of ['arm', 'disarm'] as const) {
    apps
      .command(verb)
      .description(
        verb === 'arm'
          ? 'arm an application as yourself: its steps are written (no restart; audited as application.armed)'
          : 'put an application back in plan-only mode as yourself: nothing is written (audited as application.disarmed)',
      )
      .argument('<app>', 'the application id of the policy, e.g. crm (see apps modes)')
      .requiredOption('--reason <text>', 'why, in a few words (1-500 characters; kept sealed, shown to operators and auditors)')
      .option('--json', 'machine-readable output')
      .option(...TOKEN_FILE_OPTION)
      .action(async (app: string, opts: { reason: string; json?: boolean; tokenFile?: string }) => {
        const answer = await clientFor(opts).post<ApplicationModeAnswer>(`/applications/${segment(app)}/${verb}`, { reason: opts.reason });
        say(opts.json ? JSON.stringify(answer, null, 2) : formatModeChange(verb, answer));
      });
  }
}

// `provisioner quarantine list | hold <app> | release <app>`: quarantined applications for
// operators, through the HTTP API as the caller of the API token: the operator who holds or
// releases is that caller, never a typed name, and the API audits it
// (`application.quarantine-held`, `application.released`). A held application is not released by
// its probe; a release wakes the identity workflows waiting for it.
import type { Command } from 'commander';
import type { QuarantineChangeAnswer, QuarantineView } from '../../api/routes/quarantine.js';
import { loadConfig } from '../../schemas/config.js';
import { apiClientFromConfig, segment, TOKEN_FILE_OPTION, type ApiClient } from '../api-client.js';
import { say } from '../say.js';

/** Quarantined applications, one line each with what releases it. */
export function formatQuarantine(apps: readonly QuarantineView[]): string {
  if (apps.length === 0) return 'no application is quarantined';
  const lines: string[] = [];
  for (const q of apps) {
    const probe = q.lastProbeAt ? `; last probe ${q.lastProbeAt}${q.lastProbeError ? ` failed (${q.lastProbeError})` : ' answered'}` : '';
    lines.push(`${q.app} ${q.state.toUpperCase()} since ${q.since} by ${q.by}${probe}`);
    lines.push(`  ${q.reason}`);
    lines.push(`  release: ${q.release}`);
  }
  return lines.join('\n');
}

/** What a hold or a release did, in a sentence. */
export function formatQuarantineChange(verb: 'hold' | 'release', answer: QuarantineChangeAnswer): string {
  if (verb === 'hold') return answer.changed ? `${answer.app} held: its steps wait until an operator releases it (the probe does not)` : `${answer.app}: already held; nothing changed`;
  return `${answer.app} released (was ${answer.previous}): its waiting steps run again (${answer.woken ?? 0} workflow(s) signalled)`;
}

type Deps = { client?: (opts: { tokenFile?: string }) => ApiClient };

export function registerQuarantineCommands(program: Command, deps: Deps = {}): void {
  const clientFor = deps.client ?? ((opts: { tokenFile?: string }) => apiClientFromConfig(loadConfig(), opts));
  const quarantine = program.command('quarantine').description('applications quarantined after repeated failures (their steps wait): list, hold, release');
  quarantine
    .command('list')
    .description('quarantined and held applications, why, and the command that releases each (through the API)')
    .option('--json', 'machine-readable output')
    .option(...TOKEN_FILE_OPTION)
    .action(async (opts: { json?: boolean; tokenFile?: string }) => {
      const { applications } = await clientFor(opts).get<{ applications: QuarantineView[] }>('/quarantine');
      say(opts.json ? JSON.stringify(applications, null, 2) : formatQuarantine(applications));
    });
  for (const verb of ['hold', 'release'] as const) {
    quarantine
      .command(verb)
      .description(
        verb === 'hold'
          ? 'hold an application as yourself: its steps wait, and only an operator releases it (audited as application.quarantine-held)'
          : 'release a quarantined or held application as yourself: its waiting steps run again (audited as application.released)',
      )
      .argument('<app>', 'the application id of the policy, e.g. crm')
      .requiredOption('--reason <text>', 'why, in a few words (1-500 characters; kept sealed in the audit record)')
      .option('--json', 'machine-readable output')
      .option(...TOKEN_FILE_OPTION)
      .action(async (app: string, opts: { reason: string; json?: boolean; tokenFile?: string }) => {
        const answer = await clientFor(opts).post<QuarantineChangeAnswer>(`/quarantine/${segment(app)}/${verb}`, { reason: opts.reason });
        say(opts.json ? JSON.stringify(answer, null, 2) : formatQuarantineChange(verb, answer));
      });
  }
}

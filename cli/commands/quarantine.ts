// `provisioner quarantine list | hold <app> | release <app>`: quarantined applications for
// operators, through the HTTP API as the caller of the API token: the operator who holds or
// releases is that caller, never a typed name, and the API audits it
// (`application.quarantine-held`, `application.released`). A held application is not released by
// its probe; a release wakes the identity workflows waiting for it.
import type { Command } from 'commander';
import type { PauseView, QuarantineChangeAnswer, QuarantineView } from '../../api/routes/quarantine.js';
import { loadConfig } from '../../schemas/config.js';
import { apiClientFromConfig, segment, TOKEN_FILE_OPTION, type ApiClient } from '../api-client.js';
import { say } from '../say.js';

/** Quarantined and paused applications, one line each with what releases it. */
export function formatQuarantine(apps: readonly QuarantineView[], pauses: readonly PauseView[] = []): string {
  if (apps.length === 0 && pauses.length === 0) return 'no application is quarantined or paused';
  const lines: string[] = [];
  for (const q of apps) {
    const probe = q.lastProbeAt ? `; last probe ${q.lastProbeAt}${q.lastProbeError ? ` failed (${q.lastProbeError})` : ' answered'}` : '';
    lines.push(`${q.app} ${q.state.toUpperCase()} since ${q.since} by ${q.by}${probe}`);
    lines.push(`  ${q.reason}`);
    lines.push(`  release: ${q.release}`);
  }
  for (const p of pauses) {
    lines.push(`${p.app} PAUSED until ${p.until} (${p.remainingSeconds} s left): it answered Retry-After, and every worker's calls wait for it`);
    lines.push(`  lift it sooner (you answer for calling early): ${p.release}`);
  }
  return lines.join('\n');
}

/** What a hold or a release did, in a sentence. */
export function formatQuarantineChange(verb: 'hold' | 'release', answer: QuarantineChangeAnswer): string {
  if (verb === 'hold') return answer.changed ? `${answer.app} held: its steps wait until an operator releases it (the probe does not)` : `${answer.app}: already held; nothing changed`;
  const pause = answer.pauseLifted ? `its Retry-After pause until ${answer.pauseLifted} lifted` : undefined;
  const what = answer.previous ? ` released (was ${answer.previous})${pause ? `, ${pause}` : ''}` : pause ? `: ${pause}` : ' released';
  return `${answer.app}${what}: its waiting steps run again (${answer.woken ?? 0} workflow(s) signalled)`;
}

type Deps = { client?: (opts: { tokenFile?: string }) => ApiClient };

export function registerQuarantineCommands(program: Command, deps: Deps = {}): void {
  const clientFor = deps.client ?? ((opts: { tokenFile?: string }) => apiClientFromConfig(loadConfig(), opts));
  const quarantine = program.command('quarantine').description('applications quarantined after repeated failures or paused by their Retry-After (their steps wait): list, hold, release');
  quarantine
    .command('list')
    .description('quarantined, held and paused applications, why, and the command that releases each (through the API; --json: { applications, pauses })')
    .option('--json', 'machine-readable output')
    .option(...TOKEN_FILE_OPTION)
    .action(async (opts: { json?: boolean; tokenFile?: string }) => {
      const { applications, pauses = [] } = await clientFor(opts).get<{ applications: QuarantineView[]; pauses?: PauseView[] }>('/quarantine');
      say(opts.json ? JSON.stringify({ applications, pauses }, null, 2) : formatQuarantine(applications, pauses));
    });
  for (const verb of ['hold', 'release'] as const) {
    quarantine
      .command(verb)
      .description(
        verb === 'hold'
          ? 'hold an application as yourself: its steps wait, and only an operator releases it (audited as application.quarantine-held)'
          : "release a quarantined or held application as yourself, and lift the pause it asked for with Retry-After: its waiting steps run again (audited as application.released)",
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

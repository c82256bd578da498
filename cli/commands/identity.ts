// `provisioner retry <employeeId>` and `provisioner identity resequence <employeeId>`: an
// operator's asks of one person's workflow, through the HTTP API as the caller of the API token
// (the API audits each, taken or refused). `retry` tries the change that could not be planned
// now, instead of after its backoff; `resequence` accepts the snapshot held because its sequence
// jumped past `lifecycle.maxSequenceJump` (an HRIS renumbering) as the person's new baseline.
import type { Command } from 'commander';
import { loadConfig } from '../../schemas/config.js';
import { apiClientFromConfig, segment, TOKEN_FILE_OPTION, type ApiClient } from '../api-client.js';
import { say } from '../say.js';

type Deps = { client?: (opts: { tokenFile?: string }) => ApiClient };
type AskOptions = { reason?: string; tokenFile?: string };

export function registerIdentityCommands(program: Command, deps: Deps = {}): void {
  const clientFor = deps.client ?? ((opts: { tokenFile?: string }) => apiClientFromConfig(loadConfig(), opts));
  const post = (kind: 'retry' | 'resequence', employeeId: string, opts: AskOptions) =>
    clientFor(opts).post<{ workflowId: string; retrying?: string; accepted?: string }>(`/identities/${segment(employeeId)}/${kind}`, opts.reason ? { reason: opts.reason } : {});

  program
    .command('retry')
    .description("try a person's change that could not be planned now, instead of after its backoff (operator, through the API)")
    .argument('<employeeId>', 'the person')
    .option('--reason <text>', 'why, for the audit trail')
    .option(...TOKEN_FILE_OPTION)
    .action(async (employeeId: string, opts: AskOptions) => {
      const answer = await post('retry', employeeId, opts);
      say(`${employeeId}: retrying ${answer.retrying}; see \`provisioner status ${employeeId}\``);
    });

  program
    .command('identity')
    .description("operator actions on one person's workflow")
    .command('resequence')
    .description('accept the snapshot held for its sequence jump (an HRIS renumbering) as the new baseline (operator, through the API)')
    .argument('<employeeId>', 'the person')
    .option('--reason <text>', 'why, for the audit trail')
    .option(...TOKEN_FILE_OPTION)
    .action(async (employeeId: string, opts: AskOptions) => {
      const answer = await post('resequence', employeeId, opts);
      say(`${employeeId}: accepted ${answer.accepted} as the new baseline; later events must be newer than it`);
    });
}

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
type Answer = { workflowId: string; retrying?: string; accepted?: string };

const asks = {
  retry: {
    description: "try a person's change that could not be planned, and their failed scheduled steps, now (operator, through the API)",
    said: (employeeId: string, answer: Answer) => `${employeeId}: retrying ${answer.retrying}; see \`provisioner status ${employeeId}\``,
  },
  resequence: {
    description: 'accept the snapshot held for its sequence jump (an HRIS renumbering) as the new baseline (operator, through the API)',
    said: (employeeId: string, answer: Answer) => `${employeeId}: accepted ${answer.accepted} as the new baseline; later events must be newer than it`,
  },
} as const;

export function registerIdentityCommands(program: Command, deps: Deps = {}): void {
  const clientFor = deps.client ?? ((opts: { tokenFile?: string }) => apiClientFromConfig(loadConfig(), opts));
  const identity = program.command('identity').description("operator actions on one person's workflow");
  for (const kind of ['retry', 'resequence'] as const) {
    // `provisioner retry` is top-level (an operator's everyday ask); resequence lives under `identity`.
    (kind === 'retry' ? program : identity)
      .command(kind)
      .description(asks[kind].description)
      .argument('<employeeId>', 'the person')
      .option('--reason <text>', 'why, for the audit trail')
      .option(...TOKEN_FILE_OPTION)
      .action(async (employeeId: string, opts: AskOptions) => {
        const answer = await clientFor(opts).post<Answer>(`/identities/${segment(employeeId)}/${kind}`, opts.reason ? { reason: opts.reason } : {});
        say(asks[kind].said(employeeId, answer));
      });
  }
}

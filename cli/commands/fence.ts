// `provisioner fence list | release <batchId> [--person <employeeId>] | reject <batchId> [--person
// <employeeId>]`: the mass-change fence for operators, through the HTTP API as the caller of the API
// token (docs/architecture.md#security): the operator who releases or rejects is that caller, never
// a typed name, and every decision, taken or refused, is audited. The fence counts and holds in the
// store (store/fence.ts) for the API's task queue (`fence/<taskQueue>`); it refuses an unknown or
// decided batch, a person not held in it, and the same operator releasing twice (a release may need
// a second person: the policy's `fencing.releasesRequired`).
import type { Command } from 'commander';
import type { FenceBatch, FenceState } from '../../workflows/fence-messages.js';
import { loadConfig } from '../../schemas/config.js';
import { apiClientFromConfig, segment, TOKEN_FILE_OPTION, type ApiClient } from '../api-client.js';
import { say } from '../say.js';

export function formatFenceState(state: FenceState | undefined): string {
  if (!state) return 'fence: nothing held (nothing was ever fenced)';
  const lines: string[] = [];
  const counts = Object.entries(state.inWindow).map(([k, n]) => `${k.replaceAll('|', ' ')}: ${n}`);
  lines.push(`window ${state.windowMs / 1000} s; let through in it: ${counts.length > 0 ? counts.join('; ') : 'none'}`);
  const open = state.batches.filter((b) => b.status === 'open');
  if (open.length === 0) lines.push('no open batch');
  for (const b of open) {
    const held = state.held.filter((h) => h.batchId === b.batchId);
    lines.push(`batch ${b.batchId} OPEN since ${b.openedAt}: ${held.length} people held; release needs ${b.releasesRequired} operator(s)${b.releasedBy.length > 0 ? `, released by ${b.releasedBy.join(', ')}` : ''}`);
    for (const r of b.reasons) lines.push(`  tripped: ${r}`);
    for (const h of held) {
      const released = h.releasedBy?.length ? `  (released by ${h.releasedBy.join(', ')})` : '';
      const what = h.steps.map((s) => `${s.action} ${s.app}${s.entitlementId ? `:${s.entitlementId}` : ''}`).join(', ');
      lines.push(`  ${h.employeeId.padEnd(16)} ${h.source}  ${what}${released}`);
    }
    if (state.notListed && b === open[open.length - 1]) lines.push(`  ... and ${state.notListed} more held (fence list --json --limit <n> lists more)`);
  }
  const decided = state.batches.filter((b) => b.status !== 'open').slice(-5);
  for (const b of decided) lines.push(`batch ${b.batchId} ${b.status} by ${(b.decidedBy ?? []).join(', ')} at ${b.decidedAt} (${b.requests} people)`);
  return lines.join('\n');
}

export type DecidedPerson = { requestId: string; employeeId: string; decision: 'released' | 'rejected' };

/** What a release or reject did, in a sentence. */
export function formatFenceDecision(kind: 'release' | 'reject', batchId: string, batch: FenceBatch, person?: { employeeId: string; decided: DecidedPerson[] }): string {
  if (person) {
    if (person.decided.length === 0) return `fence: your release of ${person.employeeId} in ${batchId} is recorded; it needs ${batch.releasesRequired} operator(s) in all`;
    return `fence: ${person.decided.map((d) => `${d.employeeId} ${d.decision}`).join(', ')} in ${batchId}${kind === 'reject' ? '; nothing changes for them' : ''}; the batch stays ${batch.status} with ${batch.requests} people held`;
  }
  if (batch.status === 'open') {
    return `fence: ${batchId} released by ${batch.releasedBy.join(', ')}; it needs ${batch.releasesRequired - batch.releasedBy.length} more operator(s)`;
  }
  return `fence: ${batchId} ${batch.status} by ${(batch.decidedBy ?? []).join(', ')} (${batch.requests} people)${kind === 'reject' ? '; nothing changes for them' : ''}`;
}

type Deps = { client?: (opts: { tokenFile?: string }) => ApiClient };

export function registerFenceCommands(program: Command, deps: Deps = {}): void {
  const clientFor = deps.client ?? ((opts: { tokenFile?: string }) => apiClientFromConfig(loadConfig(), opts));
  const fence = program.command('fence').description('the mass-change fence (through the API, as you): list held destructive steps, release or reject a batch');

  fence
    .command('list')
    .description('the open batches with who is held and what they would change, and recent decisions')
    .option('--json', 'machine-readable output')
    .option('--limit <n>', 'list at most this many held people (default 2000)')
    .option(...TOKEN_FILE_OPTION)
    .action(async (opts: { json?: boolean; tokenFile?: string; limit?: string }) => {
      const { fence: state } = await clientFor(opts).get<{ fence: FenceState | null }>(`/fence${opts.limit ? `?limit=${encodeURIComponent(opts.limit)}` : ''}`);
      say(opts.json ? JSON.stringify(state, null, 2) : formatFenceState(state ?? undefined));
    });

  for (const kind of ['release', 'reject'] as const) {
    fence
      .command(kind)
      .description(
        kind === 'release'
          ? 'release a held batch as yourself: its steps run (may need a second, different operator)'
          : 'reject a held batch as yourself: its steps are not applied, the accounts stay as they are',
      )
      .argument('<batchId>', 'the batch, e.g. batch-1 (see fence list)')
      .option('--person <employeeId>', `${kind} only this person in the batch (the others stay held)`)
      .option('--json', 'machine-readable output')
      .option(...TOKEN_FILE_OPTION)
      .action(async (batchId: string, opts: { json?: boolean; tokenFile?: string; person?: string }) => {
        const query = opts.person ? `?person=${encodeURIComponent(opts.person)}` : '';
        const { batch, decided } = await clientFor(opts).post<{ batch: FenceBatch; decided: DecidedPerson[] }>(`/fence/batches/${segment(batchId)}/${kind}${query}`);
        say(opts.json ? JSON.stringify({ batch, decided }, null, 2) : formatFenceDecision(kind, batchId, batch, opts.person ? { employeeId: opts.person, decided } : undefined));
      });
  }
}

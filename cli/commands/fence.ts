// `provisioner fence list | release <batchId> | reject <batchId>`: the mass-change fence for
// operators. The fence is the workflow `fence/<taskQueue>`; releasing and rejecting are its updates
// `releaseBatch` / `rejectBatch`, whose validators refuse an unknown or decided batch and the same
// operator releasing twice (a release may need a second person: config `safety.releasesRequired`).
// The operator id comes from --operator until the API's authenticated caller replaces it.
// The logic is in plain functions taking a Client, so tests call them directly.
import { Client, Connection } from '@temporalio/client';
import type { Command } from 'commander';
import { dataConverter } from '../../codec/data-converter.js';
import { loadConfig, type Config } from '../../schemas/config.js';
import { decideFenceBatch, fenceState } from '../../runtime/fence-client.js';
import type { FenceState } from '../../workflows/fence-messages.js';
import { say } from '../say.js';


export function formatFenceState(state: FenceState | undefined): string {
  if (!state) return 'fence: nothing held (no fence workflow yet)';
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
      const what = h.steps.map((s) => `${s.action} ${s.app}${s.entitlementId ? `:${s.entitlementId}` : ''}`).join(', ');
      lines.push(`  ${h.employeeId.padEnd(16)} ${h.source}  ${what}`);
    }
  }
  const decided = state.batches.filter((b) => b.status !== 'open').slice(-5);
  for (const b of decided) lines.push(`batch ${b.batchId} ${b.status} by ${(b.decidedBy ?? []).join(', ')} at ${b.decidedAt} (${b.requests} people)`);
  return lines.join('\n');
}

async function withClient<T>(cfg: Config, fn: (client: Client) => Promise<T>): Promise<T> {
  const connection = await Connection.connect({ address: cfg.temporal.address });
  try {
    return await fn(new Client({ connection, namespace: cfg.temporal.namespace, dataConverter: dataConverter(cfg.dataDir) }));
  } finally {
    await connection.close();
  }
}

export function registerFenceCommands(program: Command): void {
  const fence = program.command('fence').description('the mass-change fence: list held destructive steps, release or reject a batch');
  const queueOption = '--task-queue <name>';
  const queueHelp = 'the provisioning task queue whose fence to address (default: config temporal.taskQueue)';

  fence
    .command('list')
    .description('the open batches with who is held and what they would change, and recent decisions')
    .option(queueOption, queueHelp)
    .option('--json', 'machine-readable output')
    .action(async (opts: { taskQueue?: string; json?: boolean }) => {
      const cfg = loadConfig();
      const state = await withClient(cfg, (c) => fenceState(c, opts.taskQueue ?? cfg.temporal.taskQueue));
      say(opts.json ? JSON.stringify(state ?? null, null, 2) : formatFenceState(state));
    });

  for (const kind of ['release', 'reject'] as const) {
    fence
      .command(kind)
      .description(kind === 'release' ? 'release a held batch: its steps run (may need a second, different operator)' : 'reject a held batch: its steps are not applied, the accounts stay as they are')
      .argument('<batchId>', 'the batch, e.g. batch-1 (see fence list)')
      .requiredOption('--operator <id>', 'who decides (until the API authenticates the caller)')
      .option(queueOption, queueHelp)
      .action(async (batchId: string, opts: { operator: string; taskQueue?: string }) => {
        const cfg = loadConfig();
        const batch = await withClient(cfg, (c) => decideFenceBatch(c, opts.taskQueue ?? cfg.temporal.taskQueue, kind, batchId, opts.operator));
        say(
          batch.status === 'open'
            ? `fence: ${opts.operator} released ${batchId}; it needs ${batch.releasesRequired - batch.releasedBy.length} more operator(s)`
            : `fence: ${batchId} ${batch.status} by ${(batch.decidedBy ?? []).join(', ')} (${batch.requests} people)`,
        );
      });
  }
}

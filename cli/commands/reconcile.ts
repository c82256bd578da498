// `provisioner reconcile <app> [--dry-run]` and `provisioner drift [--app] [--kind] [--run]`: an
// application's reconciliation started now and followed to its end, and the drift it found, through
// the HTTP API as the caller of the API token (the operator who asks is that caller, audited by the API).
import type { Command } from 'commander';
import { loadConfig } from '../../schemas/config.js';
import { driftKinds } from '../../schemas/reconcile.js';
import type { FindingRow, ReconcileRun } from '../../store/reconcile.js';
import { ApiCallError, apiClientFromConfig, segment, TOKEN_FILE_OPTION, type ApiClient } from '../api-client.js';
import { CommandFailure } from '../failure.js';
import { say } from '../say.js';

/** A run in a few lines: the listing, the drift per kind, and whether removals ran and why not. */
export function formatRun(run: ReconcileRun): string {
  const listing = run.listingComplete ? 'complete' : `INCOMPLETE${run.listingFailure ? ` (${run.listingFailure})` : ''}`;
  const counts = Object.entries(run.counts).filter(([, n]) => (n ?? 0) > 0).map(([k, n]) => `${k} ${n}`);
  const lines = [
    `reconcile ${run.app}${run.dryRun ? ' (dry run)' : ''}: ${run.status}; ${run.accounts} accounts in ${run.pages} page(s), listing ${listing}`,
    `drift: ${counts.length > 0 ? counts.join(', ') : 'none'}`,
    run.removalsBlocked.length > 0 ? `removals stopped: ${run.removalsBlocked.map((b) => b.reason).join('; ')}` : 'removals: allowed',
  ];
  const did = Object.entries(run.remediation).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`);
  if (did.length > 0) lines.push(`remediation: ${did.join(', ')}`);
  lines.push(`run id: ${run.runId}`);
  return lines.join('\n');
}

export function formatFindings(findings: readonly FindingRow[]): string {
  if (findings.length === 0) return 'no drift';
  return findings
    .map((f) => `${f.app.padEnd(10)} ${f.kind.padEnd(21)} ${(f.employeeId ?? '-').padEnd(16)} ${f.accountId ?? '-'}${f.entitlementId ? ` ${f.entitlementId}` : ''}${f.attribute ? ` ${f.attribute}` : ''}  → ${f.remediation}`)
    .join('\n');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A run that has ended: completed, failed, or skipped (a quarantined application). */
const finished = (run: ReconcileRun) => run.status === 'completed' || run.status === 'failed' || run.status === 'skipped';

type Deps = { client?: (opts: { tokenFile?: string }) => ApiClient };

export function registerReconcileCommands(program: Command, deps: Deps = {}): void {
  const clientFor = deps.client ?? ((opts: { tokenFile?: string }) => apiClientFromConfig(loadConfig(), opts));

  program
    .command('reconcile')
    .description("list an application's accounts now, compare them with the policy, and remediate what the policy allows (through the API, as you)")
    .argument('<app>', 'the application id, e.g. chat')
    .option('--dry-run', 'list and compare, and show what a real run would change, changing nothing')
    .option('--no-wait', 'print the run id and return at once')
    .option('--timeout <seconds>', 'how long to follow the run', '600')
    .option('--json', 'machine-readable output')
    .option(...TOKEN_FILE_OPTION)
    .action(async (app: string, opts: { dryRun?: boolean; wait: boolean; timeout: string; json?: boolean; tokenFile?: string }) => {
      const api = clientFor(opts);
      const { runId } = await api.post<{ runId: string }>(`/reconcile/${segment(app)}`, { ...(opts.dryRun ? { dryRun: true } : {}) }).catch((err: unknown) => {
        // The API names the run going on; one run of an application at a time.
        if (err instanceof ApiCallError && err.status === 409) throw new CommandFailure(`reconcile ${app}: not started, ${err.message.replace(/^409 reconcile-running: /, '')}`);
        throw err;
      });
      if (!opts.wait) return say(opts.json ? JSON.stringify({ runId }) : `reconcile ${app}: started, run id ${runId}`);
      const deadline = Date.now() + Number(opts.timeout) * 1000;
      let run: ReconcileRun | undefined;
      while (Date.now() < deadline) {
        run = (await api.get<{ runs: ReconcileRun[] }>(`/reconcile/runs?id=${segment(runId)}`).catch(() => ({ runs: [] }))).runs[0];
        if (run && finished(run)) break;
        await sleep(1000);
      }
      if (!run || !finished(run)) throw new Error(`reconcile ${app}: run ${runId} has not finished after ${opts.timeout} s; follow it with \`provisioner drift --run ${runId}\` or in the Temporal UI`);
      const { findings } = await api.get<{ findings: FindingRow[] }>(`/drift?run=${segment(runId)}`);
      say(opts.json ? JSON.stringify({ run, findings }, null, 2) : `${formatRun(run)}\n${formatFindings(findings)}`);
    });

  program
    .command('drift')
    .description("the drift found by each application's latest reconciliation (or one run's), through the API")
    .option('--app <app>', 'one application')
    .option('--kind <kind>', `one kind: ${driftKinds.join(', ')}`)
    .option('--run <runId>', "one run's findings (default: each application's latest run)")
    .option('--json', 'machine-readable output')
    .option(...TOKEN_FILE_OPTION)
    .action(async (opts: { app?: string; kind?: string; run?: string; json?: boolean; tokenFile?: string }) => {
      if (opts.kind !== undefined && !(driftKinds as readonly string[]).includes(opts.kind)) throw new Error(`--kind ${opts.kind}: not a drift kind (${driftKinds.join(', ')})`);
      const params = new URLSearchParams(Object.entries({ app: opts.app, kind: opts.kind, run: opts.run }).filter((e): e is [string, string] => e[1] !== undefined));
      const { findings } = await clientFor(opts).get<{ findings: FindingRow[] }>(`/drift${params.size > 0 ? `?${params}` : ''}`);
      say(opts.json ? JSON.stringify(findings, null, 2) : formatFindings(findings));
    });
}

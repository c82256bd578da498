// The demo's reconciliation scene: an app admin changes chat by hand (removes a hire from one of
// their groups, creates an account for a contractor HR never sent), an operator signs in at the
// local IdP and reconciles chat through the API, first as a dry run (what a real run would change),
// then for real: the example policy fixes missing entitlements through the person's workflow and
// disables orphans through the fence, never deleting them. Runs again on a warm stack.
import type { Connector } from '../../connectors/contract.js';
import type { EntitlementCatalog } from '../../activities/entitlement-catalog.js';
import type { Config } from '../../schemas/config.js';
import type { FindingRow, ReconcileRun } from '../../store/reconcile.js';
import { createApiClient, segment, type ApiClient } from '../api-client.js';
import { read } from './demo-steps.js';
import { signInAtDevIdp } from './demo-sign-in.js';
import { formatFindings, formatRun } from './reconcile.js';

export const DEMO_RECONCILE = {
  app: 'chat',
  /** The hire an admin removes from a group by hand. */
  person: 'E1001',
  /** The account an admin creates by hand: nobody in HR has this employee id. */
  contractor: { employeeId: 'C9001', userName: 'casey.contractor@example.com', givenName: 'Casey', familyName: 'Contractor', email: 'casey.contractor@example.com' },
  /** The operator who reconciles (examples/dev-idp-people.yaml). */
  operator: 'E9001',
} as const;

type Deps = { cfg: Config; connectors: ReadonlyMap<string, Connector>; catalog: EntitlementCatalog; say: (line: string) => void };
export type ReconcileScene = { missing: number; orphans: number };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts a run as the operator and follows it to its end; its run and findings. */
async function reconcile(api: ApiClient, app: string, dryRun: boolean): Promise<{ run: ReconcileRun; findings: FindingRow[] }> {
  const { runId } = await api.post<{ runId: string }>(`/reconcile/${segment(app)}`, dryRun ? { dryRun: true } : {});
  const deadline = Date.now() + 120_000;
  for (;;) {
    // 404 until the run's first activity has recorded it.
    const run = (await api.get<{ runs: ReconcileRun[] }>(`/reconcile/runs?id=${segment(runId)}`).catch(() => ({ runs: [] }))).runs[0];
    if (run?.status === 'completed' || run?.status === 'failed' || run?.status === 'skipped') {
      const { findings } = await api.get<{ findings: FindingRow[] }>(`/drift?run=${segment(runId)}`);
      return { run, findings };
    }
    if (Date.now() > deadline) throw new Error(`reconcile ${app}: run ${runId} did not finish within 120 s; see the Temporal UI (reconcileApplication)`);
    await sleep(500);
  }
}

/** Waits until `done` holds of what the app reports now. */
async function until(what: string, timeoutMs: number, done: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs / 1000} s`);
    await sleep(500);
  }
}

export async function demoReconcile({ cfg, connectors, catalog, say }: Deps): Promise<ReconcileScene> {
  const { app, person, contractor, operator } = DEMO_RECONCILE;
  const chat = connectors.get(app);
  const revoke = chat?.revoke?.bind(chat);
  if (!chat || !revoke) throw new Error(`the demo reconciles ${app}, which needs a connector with groups`);
  const account = await read((call) => chat.getAccount({ employeeId: person }, call));
  const removed = account?.entitlements?.[0];
  if (!account || !removed) throw new Error(`${person} has no ${app} account with a group to remove by hand`);

  const [group] = await read((call) => catalog.namesOf(app, [removed], call));
  // The app admin's changes, made straight in the app (as its admin console would).
  await read((call) => revoke({ account, entitlementId: removed }, call));
  const orphan = await read((call) => chat.ensureAccount({ ...contractor, active: true }, call));
  if (orphan.status === 'action-required') throw new Error(`the contractor's account could not be made in ${app}: ${orphan.message}`);
  say(`  an admin of ${app} removed ${person} from group ${group ?? removed} and created an account for ${contractor.employeeId}, whom HR never sent, by hand`);

  const token = await signInAtDevIdp(cfg, operator);
  const api = createApiClient({ baseUrl: `http://127.0.0.1:${cfg.http.apiPort}`, token });
  say(`  ${operator} (operator) signs in at the local IdP and reconciles ${app}: npx provisioner reconcile ${app} --dry-run`);
  const dry = await reconcile(api, app, true);
  for (const line of `${formatRun(dry.run)}\n${formatFindings(dry.findings)}`.split('\n')) say(`    ${line}`);
  const found = (kind: string, match: (f: FindingRow) => boolean) => dry.findings.some((f) => f.kind === kind && match(f));
  if (!found('missing-entitlement', (f) => f.employeeId === person) || !found('orphan-account', (f) => f.accountId === orphan.account.id)) {
    throw new Error(`the dry run of ${app} did not find both hand-made changes (a missing entitlement of ${person}, the orphan ${orphan.account.id})`);
  }

  say(`  and for real (npx provisioner reconcile ${app}): the policy fixes missing entitlements through ${person}'s workflow and disables orphans through the fence, never deleting them`);
  const real = await reconcile(api, app, false);
  for (const line of formatRun(real.run).split('\n')) say(`    ${line}`);
  await until(`${person} back in group ${group ?? removed}`, 90_000, async () => (await read((call) => chat.getAccount({ employeeId: person }, call)))?.entitlements?.includes(removed) === true);
  await until(`the orphan ${orphan.account.id} disabled`, 90_000, async () => (await read((call) => chat.getAccount({ employeeId: contractor.employeeId }, call)))?.active === false);
  say(`  ${app} holds what the policy says again: ${person} is back in ${group ?? removed}; ${contractor.employeeId}'s account is disabled, not deleted (npx provisioner drift --app ${app})`);
  return { missing: 1, orphans: 1 };
}

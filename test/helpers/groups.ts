// The names of the groups a person's account holds in an application, as the app reports them
// (sorted; none when there is no account): what integration tests compare with the policy.
import type { EntitlementCatalog } from '../../activities/entitlement-catalog.js';
import type { Pipeline } from './pipeline.js';

export async function groupNamesOf(p: Pipeline, catalog: EntitlementCatalog, app: string, employeeId: string): Promise<string[]> {
  const call = () => ({ idempotencyKey: 'test', correlationId: 'test', signal: AbortSignal.timeout(30_000) });
  const account = await p.worker.connectors.get(app)!.getAccount({ employeeId }, call());
  return account ? (await catalog.namesOf(app, account.entitlements ?? [], call())).sort() : [];
}

// What each application reports the person has: the "actual" side of a plan.
import type { CallContext, Connector } from '../connectors/contract.js';
import type { CompiledPolicy } from '../policy/compile.js';
import type { ActualAccount } from '../policy/planner.js';
import type { EntitlementCatalog } from './entitlement-catalog.js';
import { atBoundary } from './failures.js';

/** What each application reports the person has (reads only: allowed for plan-only applications too). */
export async function readActualAccounts(
  policy: CompiledPolicy,
  connectors: ReadonlyMap<string, Connector>,
  catalog: EntitlementCatalog,
  employeeId: string,
  call: CallContext,
): Promise<ActualAccount[]> {
  const actual: ActualAccount[] = [];
  for (const app of policy.applications.keys()) {
    const c = connectors.get(app);
    if (!c) continue;
    const account = await atBoundary(() => c.getAccount({ employeeId }, call));
    if (!account) continue;
    const entitlements = await atBoundary(() => catalog.namesOf(app, account.entitlements ?? [], call));
    actual.push({ app, account: { app, id: account.id, externalId: account.externalId }, active: account.active, entitlements });
  }
  return actual;
}

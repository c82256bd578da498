// What each application reports the person has: the "actual" side of a plan. Reads only: allowed
// for plan-only applications too. One application at a time is the `readAccount` activity, on the
// application's own (rate-limited) queue; all of them in process is what the planChange activity
// of older histories, the access-request assessment and the CLI's dry run read.
import type { CallContext, Connector } from '../connectors/contract.js';
import { InvalidRequestError } from '../connectors/errors.js';
import type { CompiledPolicy } from '../policy/compile.js';
import type { ActualAccount } from '../policy/planner.js';
import type { EntitlementCatalog } from './entitlement-catalog.js';
import { atBoundary } from './failures.js';

/** The applications a plan reads: the policy's, where a connector serves them. */
export function applicationsToRead(policy: CompiledPolicy, connectors: ReadonlyMap<string, Connector>): string[] {
  return [...policy.applications.keys()].filter((app) => connectors.has(app));
}

/** The person's account in one application, with the policy names of what it holds; null when it has none. */
export async function readActualAccount(
  connectors: ReadonlyMap<string, Connector>,
  catalog: EntitlementCatalog,
  app: string,
  employeeId: string,
  call: CallContext,
): Promise<ActualAccount | null> {
  const c = connectors.get(app);
  if (!c) throw new InvalidRequestError(`no connector is configured for application ${app}`, app);
  const account = await atBoundary(() => c.getAccount({ employeeId }, call));
  if (!account) return null;
  const entitlements = await atBoundary(() => catalog.namesOf(app, account.entitlements ?? [], call));
  return {
    app,
    account: { app, id: account.id, externalId: account.externalId },
    active: account.active,
    entitlements,
    ...(account.entitlementsUnknown !== undefined ? { membershipsUnknown: account.entitlementsUnknown } : {}),
    // The mapped attributes the plan compares (policy/attribute-sync.ts); absent from connectors that do not report them.
    ...(account.attributes !== undefined ? { attributes: account.attributes } : {}),
  };
}

/** What each application reports the person has, read in process one application after the other. */
export async function readActualAccounts(
  policy: CompiledPolicy,
  connectors: ReadonlyMap<string, Connector>,
  catalog: EntitlementCatalog,
  employeeId: string,
  call: CallContext,
): Promise<ActualAccount[]> {
  const actual: ActualAccount[] = [];
  for (const app of applicationsToRead(policy, connectors)) {
    const found = await readActualAccount(connectors, catalog, app, employeeId, call);
    if (found) actual.push(found);
  }
  return actual;
}

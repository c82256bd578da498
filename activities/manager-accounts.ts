// The manager's account in each application whose attribute map gives `manager` (policy/
// manager-attribute.ts): what the planner sets the attribute to. Read from the application itself,
// the authority on its accounts (not the store's record of what steps made): one getAccount by the
// manager's employee id per mapping application per plan, and none where no map has `manager`.
import type { CallContext, Connector } from '../connectors/contract.js';
import { managersToFind } from '../policy/attribute-sync.js';
import type { CompiledPolicy } from '../policy/compile.js';
import type { Identity } from '../policy/identity.js';
import type { ManagerAccounts } from '../policy/manager-attribute.js';
import { atBoundary } from './failures.js';

/** The manager's account handle (SCIM id, LDAP DN) per application; an application where the manager has no account is absent. */
export async function readManagerAccounts(policy: CompiledPolicy, connectors: ReadonlyMap<string, Connector>, identity: Identity, call: (app: string) => CallContext): Promise<ManagerAccounts> {
  const out: Record<string, string> = {};
  for (const [app, managerId] of Object.entries(managersToFind(policy, identity))) {
    const connector = connectors.get(app);
    if (!connector) continue;
    const account = await atBoundary(() => connector.getAccount({ employeeId: managerId }, call(app)));
    if (account) out[app] = account.id;
  }
  return out;
}

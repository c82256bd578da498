// Policy entitlement ids (`all-staff`) are the names applications show (a SCIM group's
// displayName, an LDAP group's cn); connectors address entitlements by the application's own id.
// The catalog maps between them per application, read once and refreshed on a miss.
import type { CallContext, Connector } from '../connectors/contract.js';
import { can } from '../connectors/contract.js';
import { InvalidRequestError, NotFoundError } from '../connectors/errors.js';

export class EntitlementCatalog {
  private readonly byName = new Map<string, Map<string, string>>();

  constructor(private readonly connectors: ReadonlyMap<string, Connector>) {}

  private async load(app: string, call: CallContext): Promise<Map<string, string>> {
    const connector = this.connectors.get(app);
    const names = new Map<string, string>();
    if (connector && can(connector, 'entitlements')) {
      let cursor: string | undefined;
      do {
        const page = await connector.listEntitlements({ ...(cursor ? { cursor } : {}), pageSize: 200 }, call);
        for (const e of page.items) names.set(e.displayName, e.id);
        cursor = page.next;
      } while (cursor !== undefined);
    }
    this.byName.set(app, names);
    return names;
  }

  /** The application's id of a policy entitlement; refreshed once when unknown. */
  async idOf(app: string, entitlement: string, call: CallContext): Promise<string> {
    const known = this.byName.get(app)?.get(entitlement) ?? (await this.load(app, call)).get(entitlement);
    if (!known) throw new InvalidRequestError(`${app} has no entitlement named ${JSON.stringify(entitlement)} (create it in the application, or fix the policy)`, app);
    return known;
  }

  /**
   * Runs `act` with the application's id of the entitlement. Applications recreate groups under
   * new ids: when `act` answers NotFoundError (the group, or the account, is gone), the catalog is
   * read again once, and if the entitlement now has another id, `act` runs once more with it. The
   * same id means the id was right and the error stands (an account that is gone, say).
   */
  async withId<T>(app: string, entitlement: string, call: CallContext, act: (id: string) => Promise<T>): Promise<T> {
    const id = await this.idOf(app, entitlement, call);
    try {
      return await act(id);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
      const fresh = (await this.load(app, call)).get(entitlement);
      if (fresh === undefined || fresh === id) throw err;
      return act(fresh);
    }
  }

  /** The policy names of the application ids a person holds (ids the catalog does not know are kept as they are). */
  async namesOf(app: string, ids: readonly string[], call: CallContext): Promise<string[]> {
    let names = this.byName.get(app) ?? (await this.load(app, call));
    const reverse = () => new Map([...names].map(([name, id]) => [id, name]));
    let byId = reverse();
    if (ids.some((id) => !byId.has(id))) {
      names = await this.load(app, call);
      byId = reverse();
    }
    return ids.map((id) => byId.get(id) ?? id);
  }
}

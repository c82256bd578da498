// Policy entitlement ids (`all-staff`) are the names applications show (a SCIM group's
// displayName, an LDAP group's cn); connectors address entitlements by the application's own id.
// The catalog maps between them per application, read once and refreshed on a miss.
//
// Names are not unique in every application (RFC 7643 §4.2 gives displayName no uniqueness, and
// some servers allow two groups with one name). The catalog never guesses between them: granting or
// revoking a name two groups carry fails with both ids, for a person to settle (`entitlements sync`
// reports the same), and a membership of either group counts as holding the name.
import type { CallContext, Connector } from '../connectors/contract.js';
import { can } from '../connectors/contract.js';
import { InvalidRequestError, NotFoundError } from '../connectors/errors.js';

/** Per application: name → the ids of the entitlements that carry it (one, unless the app allows duplicates). */
type Names = Map<string, string[]>;

export class EntitlementCatalog {
  private readonly byName = new Map<string, Names>();

  constructor(private readonly connectors: ReadonlyMap<string, Connector>) {}

  private async load(app: string, call: CallContext): Promise<Names> {
    const connector = this.connectors.get(app);
    const names: Names = new Map();
    if (connector && can(connector, 'entitlements')) {
      let cursor: string | undefined;
      do {
        const page = await connector.listEntitlements({ ...(cursor ? { cursor } : {}), pageSize: 200 }, call);
        for (const e of page.items) names.set(e.displayName, [...(names.get(e.displayName) ?? []), e.id]);
        cursor = page.next;
      } while (cursor !== undefined);
    }
    this.byName.set(app, names);
    return names;
  }

  /** The one id a name has; an error that says what to fix when it has none or several. */
  private only(app: string, entitlement: string, ids: readonly string[] | undefined): string {
    if (!ids || ids.length === 0) throw new InvalidRequestError(`${app} has no entitlement named ${JSON.stringify(entitlement)} (create it in the application, or fix the policy)`, app);
    if (ids.length > 1) {
      throw new InvalidRequestError(`${app} has ${ids.length} entitlements named ${JSON.stringify(entitlement)} (ids ${ids.join(', ')}): delete or rename all but one in the application; nothing was granted or revoked`, app);
    }
    return ids[0]!;
  }

  /** The application's id of a policy entitlement; refreshed once when unknown. */
  async idOf(app: string, entitlement: string, call: CallContext): Promise<string> {
    const known = this.byName.get(app)?.get(entitlement) ?? (await this.load(app, call)).get(entitlement);
    return this.only(app, entitlement, known);
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
      const ids = (await this.load(app, call)).get(entitlement);
      if (ids === undefined || ids.length === 0 || (ids.length === 1 && ids[0] === id)) throw err;
      return act(this.only(app, entitlement, ids));
    }
  }

  /** The policy names of the application ids a person holds (ids the catalog does not know are kept as they are). */
  async namesOf(app: string, ids: readonly string[], call: CallContext): Promise<string[]> {
    let names = this.byName.get(app) ?? (await this.load(app, call));
    const reverse = () => new Map([...names].flatMap(([name, all]) => all.map((id): [string, string] => [id, name])));
    let byId = reverse();
    if (ids.some((id) => !byId.has(id))) {
      names = await this.load(app, call);
      byId = reverse();
    }
    return [...new Set(ids.map((id) => byId.get(id) ?? id))];
  }
}

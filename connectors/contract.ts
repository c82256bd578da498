// The connector contract (docs/architecture.md#connector-contract): small, declarative, idempotent by contract.
// Capabilities are opt-in interfaces: a connector implements the ones its target supports and
// says so in `capabilities`. Every method takes a request object and a call context.
//
// Outcomes are explicit and decided per verb, from a read or from the protocol's own answer, never
// from a blanket status: ensure → created | updated | unchanged | action-required; update, disable,
// enable, delete, grant, revoke → applied | already-in-state; ensureEntitlement → created | existing |
// action-required (found by name first: two with one name is never a guess). Errors are
// ConnectorErrors (errors.ts): TransientError (retry, after retryAfterMs when set), AuthError,
// InvalidRequestError, NotFoundError.
// Connectors never retry by themselves: Temporal's activity retry does (see retry.ts).

export type CallContext = {
  /** Stable per step: `${workflowId}/${changeId}/${step}/${app}`. */
  idempotencyKey: string;
  correlationId: string;
  signal: AbortSignal;
};

/**
 * An account in an application, correlated by the stable key `externalId` (SCIM externalId, LDAP
 * employeeNumber: the employee id). `id` is the target's own handle at the time it was read (SCIM
 * id, LDAP DN); verbs re-resolve by `externalId` when the handle went stale (an LDAP entry that
 * moved to the disabled OU, a SCIM user re-created by someone).
 */
export type AccountRef = { app: string; id: string; externalId: string };

/** How an account that exists without our correlation key may be taken over. */
export type Adoption = {
  /**
   * Adopt an account that carries no correlation key and whose userName (or e-mail) equals the
   * request's. Only when the policy's correlation rules say so (automatically or after approval);
   * an account carrying another correlation key is never adopted.
   */
  by: 'userName' | 'email';
};

/** The person's attributes an account is made of; the correlation key is the employee id. */
export type EnsureAccountRequest = {
  employeeId: string;
  userName: string;
  givenName: string;
  familyName: string;
  email: string;
  active: boolean;
  /** Absent: a userName held by an account we did not create is `action-required`, never taken over. */
  adopt?: Adoption;
  /**
   * Mapped account attributes (the connector's vocabulary: policy/attribute-map.ts) a new account
   * is created with, over the ones the fields above give. Absent: the fields above only.
   */
  attributes?: Readonly<Record<string, string>>;
};

/** An account as the target reports it. */
export type Account = AccountRef & {
  userName: string;
  active: boolean;
  email?: string;
  givenName?: string;
  familyName?: string;
  /** The mappable attributes (policy/attribute-map.ts) the account holds, by name; one it lacks is absent. */
  attributes?: Record<string, string>;
  /** Entitlement ids the account holds, when the listing knows them. */
  entitlements?: string[];
  /**
   * Set when the target could not say what the account holds (why, for a human): `entitlements`
   * is then not the truth, and nothing may be revoked on its strength.
   */
  entitlementsUnknown?: string;
};

export type EnsureAccountResult =
  | { status: 'created' | 'unchanged'; account: AccountRef }
  | { status: 'updated'; account: AccountRef; /** An existing account was taken over under `adopt`. */ adopted?: true }
  | { status: 'action-required'; message: string; account?: AccountRef };

/** Grants, revokes, disables, enables, deletes: `applied` when this call changed the target, else `already-in-state`. */
export type ChangeOutcome = ({ status: 'applied' } | { status: 'already-in-state' }) & {
  /**
   * The account's handle now, when the verb moved or renamed it (an LDAP entry moved to the
   * disabled OU, or renamed) or found it under another handle than the request's: callers keep
   * this one, so what they show says what the application holds.
   */
  account?: AccountRef;
};

/** An entitlement (a group, role or licence) in an application. */
export type Entitlement = { app: string; id: string; displayName: string };

export type GrantRequest = { account: AccountRef; entitlementId: string };
export type RevokeRequest = GrantRequest;

/**
 * One page of a listing. `next` is absent on the last page. `total` is the target's count when it
 * gives one. A listing that cannot be completed throws (TransientError): an incomplete listing must
 * never look complete, because reconciliation removes what a complete listing lacks.
 */
export type Page<T> = { items: T[]; next?: string; total?: number };
export type PageRequest = { cursor?: string; pageSize?: number };

export type Capability = 'accounts' | 'update' | 'disable' | 'delete' | 'list-accounts' | 'entitlements' | 'entitlement-sync';

/** Attribute → its new value, or null to clear it. Names are the connector's vocabulary (policy/attribute-map.ts). */
export type AttributeChanges = Readonly<Record<string, string | null>>;
export type UpdateAccountRequest = { account: AccountRef; changes: AttributeChanges };

/** Every connector: it can find and converge accounts. */
export interface AccountConnector {
  readonly app: string;
  readonly capabilities: ReadonlySet<Capability>;
  getAccount(req: { employeeId: string }, call: CallContext): Promise<Account | undefined>;
  /** Converges the account correlated by employee id to the request; a repeat is `unchanged`. */
  ensureAccount(req: EnsureAccountRequest, call: CallContext): Promise<EnsureAccountResult>;
  /** Releases connections; the connector is not used afterwards. */
  close?(): Promise<void>;
}

export interface UpdateCapable {
  /**
   * Sets exactly the given attributes of the account, in one write; a change to the identifier
   * (userName, uid) renames it. `already-in-state` when every value is there already;
   * NotFoundError when there is no account; InvalidRequestError for a name outside the vocabulary
   * or a new identifier another account holds.
   */
  updateAccount(req: UpdateAccountRequest, call: CallContext): Promise<ChangeOutcome>;
}

export interface DisableCapable {
  /** `already-in-state` when the account is already disabled; NotFoundError when there is none. */
  disableAccount(req: { account: AccountRef }, call: CallContext): Promise<ChangeOutcome>;
  enableAccount(req: { account: AccountRef }, call: CallContext): Promise<ChangeOutcome>;
  /** The account as it is now, by its handle (or its correlation key when it has one), memberships not read; undefined when it is gone. */
  readAccountByRef?(ref: AccountRef, call: CallContext): Promise<Account | undefined>;
}

export interface DeleteCapable {
  /** `already-in-state` when the account is already gone. */
  deleteAccount(req: { account: AccountRef }, call: CallContext): Promise<ChangeOutcome>;
}

export interface ListAccountsCapable {
  /** One page of accounts; complete and without duplicates when nothing changes during the listing. */
  listAccounts(req: PageRequest, call: CallContext): Promise<Page<Account>>;
}

export interface EntitlementCapable {
  listEntitlements(req: PageRequest, call: CallContext): Promise<Page<Entitlement>>;
  /** `already-in-state` when the account already holds it; NotFoundError for an unknown account or entitlement. */
  grant(req: GrantRequest, call: CallContext): Promise<ChangeOutcome>;
  /** `already-in-state` when the account does not hold it (or does not exist); NotFoundError for an unknown entitlement. */
  revoke(req: RevokeRequest, call: CallContext): Promise<ChangeOutcome>;
}

/** A policy entitlement by its name: the name the application shows (a SCIM group's displayName, an LDAP group's cn). */
export type EntitlementNameRequest = { name: string };

/** Two entitlements with one name, or a name held by something else, is `action-required`: never guess which one is meant. */
export type FindEntitlementResult =
  | { status: 'existing'; entitlement: Entitlement }
  | { status: 'missing' }
  | { status: 'action-required'; message: string };

export type EnsureEntitlementResult =
  | { status: 'created' | 'existing'; entitlement: Entitlement }
  | { status: 'action-required'; message: string };

/**
 * A place a connector keeps accounts or entitlements in (an LDAP OU). It is created only where the
 * configuration says to manage it; one not managed is reported `missing`, never created.
 */
export type Container = { role: string; id: string; managed: boolean; status: 'existing' | 'created' | 'missing'; detail?: string };

export interface EntitlementSyncCapable {
  /** Finds the entitlement by its name, compared exactly on our side; reads only. */
  findEntitlement(req: EntitlementNameRequest, call: CallContext): Promise<FindEntitlementResult>;
  /** Finds the entitlement by its name, or creates it; a repeat is `existing`. */
  ensureEntitlement(req: EntitlementNameRequest, call: CallContext): Promise<EnsureEntitlementResult>;
  /** The containers the connector needs, created where managed (`create`), else only read. Absent: it needs none. */
  ensureContainers?(req: { create: boolean }, call: CallContext): Promise<Container[]>;
}

export type Connector = AccountConnector & Partial<UpdateCapable & DisableCapable & DeleteCapable & ListAccountsCapable & EntitlementCapable & EntitlementSyncCapable>;

export type CapableOf<C extends Capability> = C extends 'update'
  ? UpdateCapable
  : C extends 'disable'
    ? DisableCapable
    : C extends 'delete'
      ? DeleteCapable
      : C extends 'list-accounts'
        ? ListAccountsCapable
        : C extends 'entitlements'
          ? EntitlementCapable
          : C extends 'entitlement-sync'
            ? EntitlementSyncCapable
            : unknown;

export function can<C extends Capability>(connector: Connector, capability: C): connector is Connector & CapableOf<C> {
  return connector.capabilities.has(capability);
}

/** Reads every page of a listing (for tests, tools and small targets; reconciliation pages in an activity). */
export async function collectPages<T>(list: (req: PageRequest) => Promise<Page<T>>, pageSize?: number): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await list({ ...(cursor !== undefined ? { cursor } : {}), ...(pageSize !== undefined ? { pageSize } : {}) });
    items.push(...page.items);
    cursor = page.next;
  } while (cursor !== undefined);
  return items;
}

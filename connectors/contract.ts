// The connector contract (DESIGN.md §5): small, declarative, idempotent by contract.
// Capabilities are opt-in interfaces: a connector implements the ones its target supports and
// says so in `capabilities`. Every method takes a request object and a call context.

export type CallContext = {
  /** Stable per step: `${workflowId}/${changeId}/${step}/${app}`. */
  idempotencyKey: string;
  correlationId: string;
  signal: AbortSignal;
};

/** An account in an application, correlated by the stable key (SCIM externalId, LDAP employeeNumber). */
export type AccountRef = { app: string; id: string; externalId: string };

/** The person's attributes an account is made of; the correlation key is the employee id. */
export type EnsureAccountRequest = {
  employeeId: string;
  userName: string;
  givenName: string;
  familyName: string;
  email: string;
  active: boolean;
};

/** An account as the target reports it. */
export type Account = AccountRef & { userName: string; active: boolean; email?: string; entitlements?: string[] };

export type EnsureAccountResult =
  | { status: 'created' | 'updated' | 'unchanged'; account: AccountRef }
  | { status: 'action-required'; message: string; account?: AccountRef };

/** Grants, revokes, disables: `applied` when this call changed the target, else `already-in-state`. */
export type ChangeOutcome = { status: 'applied' } | { status: 'already-in-state' };

/** An entitlement (a group, role or licence) in an application. */
export type Entitlement = { app: string; id: string; displayName: string };

export type GrantRequest = { account: AccountRef; entitlementId: string };
export type RevokeRequest = GrantRequest;

export type Page<T> = { items: T[]; next?: string };
export type PageRequest = { cursor?: string; pageSize?: number };

export type Capability = 'accounts' | 'disable' | 'delete' | 'list-accounts' | 'entitlements';

/** Every connector: it can find and converge accounts. */
export interface AccountConnector {
  readonly app: string;
  readonly capabilities: ReadonlySet<Capability>;
  getAccount(req: { employeeId: string }, call: CallContext): Promise<Account | undefined>;
  /** Converges the account correlated by employee id to the request; a repeat is `unchanged`. */
  ensureAccount(req: EnsureAccountRequest, call: CallContext): Promise<EnsureAccountResult>;
}

export interface DisableCapable {
  disableAccount(req: { account: AccountRef }, call: CallContext): Promise<ChangeOutcome>;
  enableAccount(req: { account: AccountRef }, call: CallContext): Promise<ChangeOutcome>;
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
  grant(req: GrantRequest, call: CallContext): Promise<ChangeOutcome>;
  revoke(req: RevokeRequest, call: CallContext): Promise<ChangeOutcome>;
}

export type Connector = AccountConnector & Partial<DisableCapable & DeleteCapable & ListAccountsCapable & EntitlementCapable>;

export function can<C extends Capability>(
  connector: Connector,
  capability: C,
): connector is Connector &
  (C extends 'disable' ? DisableCapable : C extends 'delete' ? DeleteCapable : C extends 'list-accounts' ? ListAccountsCapable : C extends 'entitlements' ? EntitlementCapable : unknown) {
  return connector.capabilities.has(capability);
}

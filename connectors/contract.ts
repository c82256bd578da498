// The connector contract (DESIGN.md §5): small, declarative, idempotent by contract.
// This is the first slice, for accounts; grants, revokes and listings follow with the full contract.

export type CallContext = {
  /** Stable per step: `${workflowId}/${changeId}/${step}/${app}`. */
  idempotencyKey: string;
  correlationId: string;
  signal: AbortSignal;
};

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

export type EnsureAccountResult =
  | { status: 'created' | 'updated' | 'unchanged'; account: AccountRef }
  | { status: 'action-required'; message: string; account?: AccountRef };

export interface AccountConnector {
  readonly app: string;
  /** Converges the account correlated by employee id to the request; a repeat is `unchanged`. */
  ensureAccount(req: EnsureAccountRequest, call: CallContext): Promise<EnsureAccountResult>;
  getAccount(employeeId: string, call: CallContext): Promise<AccountRef | undefined>;
}

// What a conformance test file gives the kit (./kit.ts) for each test: a fresh, isolated target
// (its own SCIM app, its own LDAP OU) with a connector for it, a way to read the server without the
// connector, and a fault injector.
import type { Connector } from '../contract.js';
import type { RetryPolicy } from '../retry.js';

export type FaultKind =
  /** 429 with Retry-After. */
  | 'rate-limit'
  /** 5xx answers (SCIM) before anything is written. */
  | 'server-error'
  /** The connection is closed before a write reaches the server. */
  | 'connection-reset'
  /** The write is committed, then the connection is dropped without an answer. */
  | 'drop-after-commit';

export interface FaultInjector {
  readonly supported: ReadonlySet<FaultKind>;
  /** Arms a fault for the next `times` requests (writes, for the connection faults). */
  inject(kind: FaultKind, times: number): Promise<void>;
  /** How often the armed fault fired. */
  fired(kind: FaultKind): Promise<number>;
  clear(): Promise<void>;
}

/** The server as seen without the connector under test. */
export interface TargetInspector {
  /** Accounts whose correlation key is exactly `employeeId`. */
  accountsWithKey(employeeId: string): Promise<number>;
  /** Every correlation key the server holds, one per account (duplicates kept). */
  allKeys(): Promise<string[]>;
  isMember(employeeId: string, entitlementId: string): Promise<boolean>;
  /** A comparable picture of the account, including what changes on any write (version, modifyTimestamp). */
  snapshot(employeeId: string): Promise<unknown>;
}

export type ConformanceTarget = {
  connector: Connector;
  /** Creates an entitlement (a group) in the target; returns its id as the connector names it. */
  createEntitlement(name: string): Promise<string>;
  /** Creates an account the way someone else would: no correlation key. */
  createForeignAccount(input: { userName: string; email: string }): Promise<{ snapshot: () => Promise<unknown> }>;
  inspect: TargetInspector;
  faults: FaultInjector;
  close(): Promise<void>;
};

/** The connector's names (policy/attribute-map.ts) of the attributes the update cases change. */
/** The connector's names of the attributes the update cases change; `manager` holds another account's handle (its id). */
export type UpdateAttributeNames = { identifier: string; familyName: string; email: string; title: string; manager: string };

export type ConformanceOptions = {
  attributeNames: UpdateAttributeNames;
  /** The faults this target can inject: a test is registered for each (none is skipped at run time). */
  faultKinds: readonly FaultKind[];
  /** Accounts and entitlements created for the listing tests, and the page size used. */
  listing?: { accounts: number; entitlements: number; pageSize: number };
  retry?: Partial<RetryPolicy>;
  /** The server compares userNames case-sensitively: a case-only variant is another account, not a collision. */
  userNamesCaseExact?: boolean;
  /**
   * False for a server that shows memberships nowhere (users without `groups`, groups without
   * `members`): a grant cannot be told from a re-grant, and accounts say why their entitlements
   * are unknown instead of listing none.
   */
  membershipsReadable?: boolean;
};

// How people and groups are entries in the directory, and how entries read back as the contract's
// accounts and entitlements: users are inetOrgPerson entries `uid=<userName>,<peopleDn>` correlated
// by employeeNumber; groups are groupOfNames `cn=<id>,<groupsDn>` whose cn is the entitlement id; a
// disabled account lives under the disabled OU or carries the disabled attribute value.
import { Attribute, Change, EqualityFilter, type Entry, type Filter } from 'ldapts';
import type { Account, AccountRef, EnsureAccountRequest, Entitlement } from '../contract.js';
import { InvalidRequestError } from '../errors.js';
import { escapeDnValue, isChildOf, normalizeDn, parseDn, sameDn } from './escape.js';

export type LdapDisableMode =
  /** Move the entry to `disabledDn` (and back to the people OU on enable); refint keeps member DNs right. */
  | { mode: 'move'; disabledDn: string }
  /** Add `value` to `attribute` (e.g. employeeType: disabled); enable removes that value. */
  | { mode: 'attribute'; attribute: string; value: string };

const USER_CLASSES = ['top', 'person', 'organizationalPerson', 'inetOrgPerson'];
/**
 * The attributes a policy may map (policy/attribute-map.ts; RFC 4519, RFC 2798): uid is the entry's
 * RDN; manager is the DN of the manager's entry (RFC 4524 §2.10).
 */
export const MAPPED_ATTRIBUTES = ['uid', 'cn', 'sn', 'givenName', 'mail', 'displayName', 'title', 'departmentNumber', 'manager'] as const;

/** Attributes of DN syntax: equal by distinguishedNameMatch (RFC 4517 §4.2.15), not by their text. */
const DN_VALUED = new Set(['manager']);
export const USER_ATTRIBUTES = [...MAPPED_ATTRIBUTES, 'employeeNumber', 'memberOf'];

/** The values of an attribute of a search entry, whatever the case of its name. */
export function values(entry: Entry, name: string): string[] {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === name.toLowerCase());
  if (key === undefined || key === 'dn') return [];
  const v = entry[key];
  const list = Array.isArray(v) ? v : v === undefined ? [] : [v];
  return list.map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : String(x)));
}

export const first = (entry: Entry, name: string) => values(entry, name)[0];

/** An equality filter (BER-encoded by ldapts, never parsed from a string). */
export function eq(attribute: string, value: string): Filter {
  return new EqualityFilter({ attribute, value });
}

/** The attributes an account's entry should hold for `req`, besides uid and employeeNumber (the mapped ones over the defaults). */
function desiredAttributes(req: EnsureAccountRequest): Record<string, string> {
  const cn = `${req.givenName} ${req.familyName}`.trim() || req.userName;
  const { uid: _rdn, ...mapped } = req.attributes ?? {};
  return {
    cn,
    sn: req.familyName || req.userName,
    displayName: cn,
    ...(req.givenName ? { givenName: req.givenName } : {}),
    ...(req.email ? { mail: req.email } : {}),
    ...mapped,
  };
}

/** One modification that gives the attribute `value` (null: removes it), or none when it holds exactly that. */
export function attributeChange(entry: Entry, name: string, value: string | null): Change | undefined {
  const have = values(entry, name);
  if (value === null) return have.length > 0 ? new Change({ operation: 'delete', modification: new Attribute({ type: name, values: [] }) }) : undefined;
  if (have.length === 1 && (DN_VALUED.has(name) ? sameDn(have[0]!, value) : have[0] === value)) return undefined;
  return new Change({ operation: 'replace', modification: new Attribute({ type: name, values: [value] }) });
}

export type DirectoryLayout = {
  peopleDn: string;
  groupsDn: string;
  disable: LdapDisableMode;
  placeholderMemberDn?: string;
};

/** Where one application's accounts and groups are, and how their entries read as the contract's types. */
export class EntryMapping {
  /** Where accounts are: the people OU and, when disabling moves entries, the disabled OU (nested ones once). */
  readonly accountBases: string[];
  /** What a read of an account asks for: the user attributes and, when disabling sets one, that attribute. */
  readonly accountAttributes: string[];

  constructor(
    private readonly app: string,
    private readonly layout: DirectoryLayout,
  ) {
    const bases = [layout.peopleDn, ...(layout.disable.mode === 'move' ? [layout.disable.disabledDn] : [])];
    const within = (dn: string, base: string) => normalizeDn(dn) === normalizeDn(base) || normalizeDn(dn).endsWith(`,${normalizeDn(base)}`);
    this.accountBases = bases.filter((b, i) => !bases.some((other, j) => j !== i && within(b, other) && (normalizeDn(b) !== normalizeDn(other) || j < i)));
    this.accountAttributes = [...USER_ATTRIBUTES, ...(layout.disable.mode === 'attribute' ? [layout.disable.attribute] : [])];
  }

  ref(dn: string, externalId: string): AccountRef {
    return { app: this.app, id: dn, externalId };
  }

  isDisabled(entry: Entry): boolean {
    const mode = this.layout.disable;
    if (mode.mode === 'move') return isChildOf(entry.dn, mode.disabledDn);
    return values(entry, mode.attribute).some((v) => v.toLowerCase() === mode.value.toLowerCase());
  }

  /** The DN and attributes of a new account's entry: in the people OU, or disabled as the mode says. */
  newUser(req: EnsureAccountRequest): { dn: string; attributes: Record<string, string | string[]> } {
    const mode = this.layout.disable;
    const parent = !req.active && mode.mode === 'move' ? mode.disabledDn : this.layout.peopleDn;
    const attributes: Record<string, string | string[]> = {
      objectClass: USER_CLASSES,
      uid: req.userName,
      employeeNumber: req.employeeId,
      ...desiredAttributes(req),
    };
    if (!req.active && mode.mode === 'attribute') attributes[mode.attribute] = mode.value;
    return { dn: `uid=${escapeDnValue(req.userName)},${parent}`, attributes };
  }

  /** The modifications that make the entry's attributes (and, by attribute, its state) the request's. */
  changes(entry: Entry, req: EnsureAccountRequest): Change[] {
    const changes: Change[] = [];
    if (!values(entry, 'employeeNumber').includes(req.employeeId)) {
      changes.push(new Change({ operation: 'replace', modification: new Attribute({ type: 'employeeNumber', values: [req.employeeId] }) }));
    }
    const desired = desiredAttributes(req);
    for (const name of new Set(['cn', 'sn', 'displayName', 'givenName', 'mail', ...Object.keys(desired)])) {
      const change = attributeChange(entry, name, desired[name] ?? null);
      if (change) changes.push(change);
    }
    const mode = this.layout.disable;
    if (mode.mode === 'attribute' && this.isDisabled(entry) === req.active) {
      changes.push(new Change({ operation: req.active ? 'delete' : 'add', modification: new Attribute({ type: mode.attribute, values: [mode.value] }) }));
    }
    return changes;
  }

  account(entry: Entry): Account {
    const email = first(entry, 'mail');
    const givenName = first(entry, 'givenName');
    const familyName = first(entry, 'sn');
    const entitlements = values(entry, 'memberOf')
      .map((dn) => this.entitlementId(dn))
      .filter((id): id is string => id !== undefined);
    return {
      app: this.app,
      id: entry.dn,
      externalId: first(entry, 'employeeNumber') ?? '',
      userName: first(entry, 'uid') ?? '',
      active: !this.isDisabled(entry),
      ...(email !== undefined ? { email } : {}),
      ...(givenName !== undefined ? { givenName } : {}),
      ...(familyName !== undefined ? { familyName } : {}),
      attributes: Object.fromEntries(MAPPED_ATTRIBUTES.flatMap((name) => (first(entry, name) !== undefined ? [[name, first(entry, name)!]] : []))),
      entitlements,
    };
  }

  entitlement(entry: Entry): Entitlement {
    const id = this.entitlementId(entry.dn) ?? first(entry, 'cn') ?? entry.dn;
    return { app: this.app, id, displayName: first(entry, 'description') ?? id };
  }

  groupDn(id: string): string {
    if (!id) throw new InvalidRequestError(`${this.app}: an entitlement id cannot be empty`, this.app);
    return `cn=${escapeDnValue(id)},${this.layout.groupsDn}`;
  }

  /** entitlementId by DN: a listing meets the same few groups in every entry's memberOf. Bounded. */
  readonly #entitlementIds = new Map<string, string | undefined>();

  /** The cn of a group directly under groupsDn, or undefined for any other DN. */
  entitlementId(dn: string): string | undefined {
    if (this.#entitlementIds.has(dn)) return this.#entitlementIds.get(dn);
    const id = this.#entitlementIdOf(dn);
    if (this.#entitlementIds.size >= 10_000) this.#entitlementIds.clear();
    this.#entitlementIds.set(dn, id);
    return id;
  }

  #entitlementIdOf(dn: string): string | undefined {
    try {
      const [rdn] = parseDn(dn);
      if (!rdn || rdn.length !== 1 || rdn[0]!.type.toLowerCase() !== 'cn' || !isChildOf(dn, this.layout.groupsDn)) return undefined;
      return rdn[0]!.value;
    } catch {
      return undefined;
    }
  }

  /** The member a group keeps so it is never empty (RFC 4519 §3.5): the configured one, else the group's own DN. */
  placeholder(groupDn: string): string {
    return this.layout.placeholderMemberDn ?? groupDn;
  }
}

// The users and groups of one target app, in memory, with the indexes SCIM needs: unique
// attributes (RFC 7643 §2.4 uniqueness) and group membership (RFC 7643 §4.1.2 `groups`).
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';

export type ResourceType = 'User' | 'Group';
export const resourceTypes: readonly ResourceType[] = ['User', 'Group'];

export type Meta = { created: string; lastModified: string; version: string };
/** A resource as stored: its attributes as the client gave them, plus id and meta. */
export type StoredRecord = { id: string; externalId?: string; meta: Meta; [attribute: string]: unknown };
export type Member = { value: string; type?: ResourceType; display?: string };

export type UniqueAttribute = { name: string; caseExact: boolean };

/**
 * Attributes that identify a resource within its type, and how they compare: userName and a
 * group's displayName are caseExact=false (RFC 7643 §4.1.1, §4.2), externalId is caseExact=true
 * (RFC 7643 §3.1). A second resource with an equal value is a 409 `uniqueness` (RFC 7644 §3.3).
 * Servers that compare userName case-sensitively (the `userNameCaseExact` behaviour) hold
 * `Ada` and `ada` as two users.
 */
export function uniqueAttributesOf(options: { userNameCaseExact: boolean }): Record<ResourceType, readonly UniqueAttribute[]> {
  return {
    User: [
      { name: 'userName', caseExact: options.userNameCaseExact },
      { name: 'externalId', caseExact: true },
    ],
    Group: [
      { name: 'displayName', caseExact: false },
      { name: 'externalId', caseExact: true },
    ],
  };
}

export type StoreSnapshot = {
  format: 1;
  /** The last version number handed out; versions are never reused, even after a delete. */
  sequence: number;
  users: StoredRecord[];
  groups: StoredRecord[];
};

export type PutResult = { record: StoredRecord; created: boolean; changed: boolean; previous?: StoredRecord };

const key = (caseExact: boolean, value: string) => (caseExact ? value : value.toLowerCase());

export class ResourceStore {
  #records: Record<ResourceType, Map<string, StoredRecord>> = { User: new Map(), Group: new Map() };
  /** type → attribute → comparable value → id */
  #unique: Record<ResourceType, Map<string, Map<string, string>>> = { User: new Map(), Group: new Map() };
  /** member id → ids of the groups that list it */
  #memberOf = new Map<string, Set<string>>();
  #sequence = 0;

  /** The unique attributes of each type, as this store compares them. */
  readonly unique: Record<ResourceType, readonly UniqueAttribute[]>;

  constructor(
    /** The app's clock (meta timestamps; a search lag is measured on it). */
    readonly now: () => number = Date.now,
    snapshot?: StoreSnapshot,
    options: { userNameCaseExact: boolean } = { userNameCaseExact: false },
  ) {
    this.unique = uniqueAttributesOf(options);
    this.#clearIndexes();
    if (snapshot) this.#load(snapshot);
  }

  get(type: ResourceType, id: string): StoredRecord | undefined {
    return this.#records[type].get(id);
  }

  /** Every resource of a type, oldest first. */
  all(type: ResourceType): StoredRecord[] {
    return [...this.#records[type].values()];
  }

  count(type: ResourceType): number {
    return this.#records[type].size;
  }

  /** The resource whose unique attribute equals `value` (compared as that attribute compares). */
  findByUnique(type: ResourceType, attribute: string, value: string): StoredRecord | undefined {
    const spec = this.unique[type].find((u) => u.name.toLowerCase() === attribute.toLowerCase());
    if (!spec) throw new TypeError(`${attribute} is not a unique attribute of ${type}`);
    const id = this.#unique[type].get(spec.name)!.get(key(spec.caseExact, value));
    return id === undefined ? undefined : this.get(type, id);
  }

  /** The groups that list `memberId` among their members, oldest first. */
  groupsOf(memberId: string): StoredRecord[] {
    const ids = this.#memberOf.get(memberId);
    return ids ? [...ids].map((id) => this.get('Group', id)!).filter(Boolean) : [];
  }

  /**
   * Creates (no id) or replaces (id) a resource's attributes. A replace that changes nothing keeps
   * the version and lastModified (RFC 7644 §3.5.2: an add of a value already present changes
   * nothing, "including the modify timestamp").
   */
  put(type: ResourceType, attributes: Record<string, unknown>, id?: string): PutResult {
    const data = { ...attributes };
    delete data.id;
    delete data.meta;
    const previous = id === undefined ? undefined : this.get(type, id);
    if (id !== undefined && !previous) throw new RangeError(`${type} ${id} does not exist`);
    if (previous && isDeepStrictEqual(strip(previous), data)) return { record: previous, created: false, changed: false, previous };
    const at = new Date(this.now()).toISOString();
    const record: StoredRecord = {
      ...data,
      id: previous?.id ?? randomUUID(),
      meta: { created: previous?.meta.created ?? at, lastModified: at, version: this.#nextVersion() },
    };
    if (previous) this.#unindex(type, previous);
    this.#records[type].set(record.id, record);
    this.#index(type, record);
    return { record, created: !previous, changed: true, ...(previous ? { previous } : {}) };
  }

  /** Deletes a resource; returns it, or undefined when it did not exist. */
  remove(type: ResourceType, id: string): StoredRecord | undefined {
    const record = this.get(type, id);
    if (!record) return undefined;
    this.#unindex(type, record);
    this.#records[type].delete(id);
    return record;
  }

  reset(): void {
    this.#records = { User: new Map(), Group: new Map() };
    this.#clearIndexes();
  }

  snapshot(): StoreSnapshot {
    return { format: 1, sequence: this.#sequence, users: this.all('User'), groups: this.all('Group') };
  }

  #nextVersion(): string {
    this.#sequence += 1;
    // RFC 7644 §3.14: a weak entity tag, also given as meta.version (RFC 7643 §3.1).
    return `W/"${this.#sequence}"`;
  }

  #clearIndexes(): void {
    for (const type of resourceTypes) this.#unique[type] = new Map(this.unique[type].map((u) => [u.name, new Map()]));
    this.#memberOf = new Map();
  }

  #index(type: ResourceType, record: StoredRecord): void {
    for (const u of this.unique[type]) {
      const value = record[u.name];
      if (typeof value === 'string') this.#unique[type].get(u.name)!.set(key(u.caseExact, value), record.id);
    }
    if (type === 'Group') {
      for (const m of membersOf(record)) {
        const groups = this.#memberOf.get(m.value) ?? new Set<string>();
        groups.add(record.id);
        this.#memberOf.set(m.value, groups);
      }
    }
  }

  #unindex(type: ResourceType, record: StoredRecord): void {
    for (const u of this.unique[type]) {
      const value = record[u.name];
      const index = this.#unique[type].get(u.name)!;
      if (typeof value === 'string' && index.get(key(u.caseExact, value)) === record.id) index.delete(key(u.caseExact, value));
    }
    if (type === 'Group') {
      for (const m of membersOf(record)) {
        const groups = this.#memberOf.get(m.value);
        groups?.delete(record.id);
        if (groups?.size === 0) this.#memberOf.delete(m.value);
      }
    }
  }

  #load(snapshot: StoreSnapshot): void {
    if (snapshot.format !== 1) throw new TypeError(`unknown state format ${String(snapshot.format)}`);
    this.#sequence = snapshot.sequence;
    for (const [type, records] of [['User', snapshot.users], ['Group', snapshot.groups]] as const) {
      for (const record of records) {
        this.#records[type].set(record.id, record);
        this.#index(type, record);
      }
    }
  }
}

export function membersOf(record: StoredRecord): Member[] {
  return Array.isArray(record.members) ? (record.members as Member[]) : [];
}

function strip(record: StoredRecord): Record<string, unknown> {
  const { id: _id, meta: _meta, ...data } = record;
  return data;
}

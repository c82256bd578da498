// Pseudonyms and per-person keys (crypto-shredding). Everyone the store knows gets a random
// person_id and a random AES-256 data key, wrapped by the key-encryption key (KEK) that lives
// outside the database. Personal data is sealed with the person's key and bound (associated data)
// to what it belongs to; deleting the person's key row makes all of it unreadable for good.
import { randomBytes, randomUUID } from 'node:crypto';
import { KEY_BYTES, open, seal } from '../crypto/aes-gcm.js';
import { activeKey, KeyConfigError } from '../crypto/keyring.js';
import type { Db } from './db.js';
import type { KeyEncryptionKeys } from './store-keys.js';

export type Person = { personId: string; key: Buffer };

function requireKek(kek: KeyEncryptionKeys | undefined): KeyEncryptionKeys {
  if (!kek) throw new KeyConfigError('no store key-encryption key: set PROVISIONER_STORE_KEK or PROVISIONER_STORE_KEK_FILE');
  return kek;
}

const wrapContext = (personId: string): string => `person-key:${personId}`;

/** A person's data key from its stored, wrapped form (for readers that fetch many rows at once). */
export function unwrap(kek: KeyEncryptionKeys, personId: string, kekId: string, wrapped: Buffer): Buffer {
  const key = kek.keys.get(kekId);
  if (!key) throw new KeyConfigError(`person keys are wrapped by KEK ${kekId}, which is not configured (PROVISIONER_STORE_KEK)`);
  return open(key, wrapped, wrapContext(personId));
}

type KeyRow = { person_id: string; kek_id: string | null; wrapped_key: Buffer | null };

/** A fresh data key for a person, and the same wrapped by the active KEK (as person_keys stores it). */
export function newPersonKey(kek: KeyEncryptionKeys, personId: string): { key: Buffer; kekId: string; wrapped: Buffer } {
  const key = randomBytes(KEY_BYTES);
  return { key, kekId: kek.activeId, wrapped: seal(activeKey(kek).key, key, wrapContext(personId)) };
}

/**
 * SQL for the person_id of the employee id in parameter `param` (e.g. `$1`), compared
 * case-insensitively (policy/employee-ids.ts; PostgreSQL's upper() and JavaScript's toUpperCase()
 * agree on the ASCII of employee ids). Where HR sent two ids that differ only in case, the one
 * spelt as asked wins.
 */
export const personIdOf = (param: string): string =>
  `(select person_id from identities where upper(employee_id) = upper(${param}) order by employee_id = ${param} desc limit 1)`;

/**
 * The person with this employee id (in any letter case), created with a fresh pseudonym and key if
 * the store has not seen them. Concurrent callers converge on one row (the unique employee id decides).
 */
export async function ensurePerson(db: Db, kekConfig: KeyEncryptionKeys | undefined, employeeId: string): Promise<Person & { created: boolean }> {
  const kek = requireKek(kekConfig);
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const { rows } = await db.query<KeyRow>({
      name: 'person-by-employee-id',
      text: `select i.person_id, k.kek_id, k.wrapped_key from identities i left join person_keys k using (person_id) where i.person_id = ${personIdOf('$1')}`,
      values: [employeeId],
    });
    const found = rows[0];
    if (found?.kek_id && found.wrapped_key) {
      return { personId: found.person_id, key: unwrap(kek, found.person_id, found.kek_id, found.wrapped_key), created: false };
    }
    const personId = found?.person_id ?? randomUUID();
    const { key, wrapped } = newPersonKey(kek, personId);
    const inserted = found
      ? await db.query(
          'insert into person_keys (person_id, kek_id, wrapped_key) values ($1, $2, $3) on conflict (person_id) do nothing',
          [personId, kek.activeId, wrapped],
        )
      : await db.query(
          `with person as (
             insert into identities (person_id, employee_id) values ($1, $2) on conflict (employee_id) do nothing returning person_id
           )
           insert into person_keys (person_id, kek_id, wrapped_key) select person_id, $3, $4 from person`,
          [personId, employeeId, kek.activeId, wrapped],
        );
    if (inserted.rowCount === 1) return { personId, key, created: !found };
    // Someone else created the person (or their key) at the same moment: read theirs.
  }
  throw new Error(`could not create or read the person key for an identity after 3 attempts`);
}

/**
 * Many people at once, for a batch of audit records: one query for those the store knows, then
 * ensurePerson for any it does not.
 */
export async function ensurePersons(db: Db, kekConfig: KeyEncryptionKeys | undefined, employeeIds: string[]): Promise<Map<string, Person>> {
  const unique = [...new Set(employeeIds)];
  const found = new Map<string, Person>();
  if (unique.length === 0) return found;
  const kek = requireKek(kekConfig);
  const { rows } = await db.query<KeyRow & { employee_id: string }>({
    name: 'persons-by-employee-ids',
    text: `select i.employee_id, i.person_id, k.kek_id, k.wrapped_key from identities i join person_keys k using (person_id) where i.employee_id = any($1::text[])`,
    values: [unique],
  });
  for (const r of rows) found.set(r.employee_id, { personId: r.person_id, key: unwrap(kek, r.person_id, r.kek_id!, r.wrapped_key!) });
  for (const id of unique) if (!found.has(id)) found.set(id, await ensurePerson(db, kek, id));
  return found;
}

/** A person's data key from its stored row (kek id, wrapped key), for readers that page through many people. */
export function unwrapPersonKey(kekConfig: KeyEncryptionKeys | undefined, personId: string, kekId: string, wrapped: Buffer): Buffer {
  return unwrap(requireKek(kekConfig), personId, kekId, wrapped);
}

/** The person's data key, or undefined once the person was purged (their key shredded). */
export async function personKey(db: Db, kekConfig: KeyEncryptionKeys | undefined, personId: string): Promise<Buffer | undefined> {
  const kek = requireKek(kekConfig);
  const { rows } = await db.query<{ kek_id: string; wrapped_key: Buffer }>(
    'select kek_id, wrapped_key from person_keys where person_id = $1',
    [personId],
  );
  const row = rows[0];
  return row ? unwrap(kek, personId, row.kek_id, row.wrapped_key) : undefined;
}

export async function findPersonId(db: Db, employeeId: string): Promise<string | undefined> {
  const { rows } = await db.query<{ person_id: string }>(`select ${personIdOf('$1')} as person_id`, [employeeId]);
  if (rows[0]?.person_id === null) return undefined;
  return rows[0]?.person_id;
}

/** Seals JSON for one person, bound to `context` (e.g. `audit:<record id>`). */
export function sealJson(person: Person, context: string, value: unknown): Buffer {
  return seal(person.key, Buffer.from(JSON.stringify(value), 'utf8'), `${context}|${person.personId}`);
}

export function openJson(person: Person, context: string, sealed: Buffer): unknown {
  return JSON.parse(open(person.key, sealed, `${context}|${person.personId}`).toString('utf8'));
}

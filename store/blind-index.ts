// Blind indexes: look people up by a personal value (an e-mail address) that the store keeps only
// sealed. The digest is HMAC-SHA256 of the normalised value (trimmed, NFC, lower-cased: two
// spellings HR might send for one address are one digest) under a key derived (HKDF-SHA256) from
// a store key-encryption key, so the database alone cannot confirm a guessed address. New digests
// are made under the active KEK; look-ups compute one per configured KEK, so a rotation strands no
// row (a person's digest moves to the new key with their next snapshot).
import { createHmac, hkdfSync } from 'node:crypto';
import { KeyConfigError } from '../crypto/keyring.js';
import type { KeyEncryptionKeys } from './store-keys.js';

/** The personal values the store can look people up by; each has its digest column in `identities`. */
export const blindIndexed = { email: 'email_digest' } as const;
export type BlindIndexed = keyof typeof blindIndexed;

/** The one rule for comparing such values: HR's `Ada@Example.com ` and `ada@example.com` are one address. */
export const normaliseForIndex = (value: string): string => value.trim().normalize('NFC').toLowerCase();

function indexKey(kek: Buffer, attribute: BlindIndexed): Buffer {
  return Buffer.from(hkdfSync('sha256', kek, Buffer.alloc(0), `provisioner blind index ${attribute}`, 32));
}

function digestUnder(kek: Buffer, attribute: BlindIndexed, value: string): Buffer {
  return createHmac('sha256', indexKey(kek, attribute)).update(normaliseForIndex(value), 'utf8').digest();
}

function activeKek(kek: KeyEncryptionKeys): Buffer {
  const key = kek.keys.get(kek.activeId);
  if (!key) throw new KeyConfigError(`the active store KEK ${kek.activeId} is not in the keyring (PROVISIONER_STORE_KEK)`);
  return key;
}

/** The digest stored for `value` (under the active KEK); null for an absent or blank value. */
export function blindDigest(kek: KeyEncryptionKeys, attribute: BlindIndexed, value: string | undefined): Buffer | null {
  if (value === undefined || normaliseForIndex(value) === '') return null;
  return digestUnder(activeKek(kek), attribute, value);
}

/** Every digest `value` may be stored under: one per configured KEK. */
export function blindDigests(kek: KeyEncryptionKeys, attribute: BlindIndexed, value: string): Buffer[] {
  return [...kek.keys.values()].map((k) => digestUnder(k, attribute, value));
}

/**
 * Keyed digests (hex) of values only ever compared for equality, such as what a reconciliation's
 * listing holds (store/reconcile.ts): under the active KEK, with a key of its own per `purpose`,
 * derived once per digester. The caller normalises first (a value is digested as given).
 */
export function equalityDigester(kek: KeyEncryptionKeys, purpose: string): (value: string) => string {
  const key = Buffer.from(hkdfSync('sha256', activeKek(kek), Buffer.alloc(0), `provisioner equality digest ${purpose}`, 32));
  return (value) => createHmac('sha256', key).update(value, 'utf8').digest('hex');
}

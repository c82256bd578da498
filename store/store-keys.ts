// Where the store's keys come from. Key material is not configuration (it never sits in a Config,
// so it is never logged with one); it is read from environment variables here:
//
//   PROVISIONER_AUDIT_SIGNING_KEY[_FILE]  `<id>:<base64 32-byte Ed25519 seed>`; the first entry
//                                         signs, later entries' public keys still verify
//   PROVISIONER_AUDIT_VERIFY_KEYS[_FILE]  `<id>:<base64 32-byte Ed25519 public key>`, for auditors
//                                         and for records signed by retired keys
//   PROVISIONER_STORE_KEK[_FILE]          `<id>:<base64 32-byte AES key>` wrapping the per-person
//                                         keys; the first entry wraps new keys
//
// The store's schema (postgres.schema) and checkpoint file (audit.checkpointsFile) are settings of
// schemas/config.ts.
//
// With neither variable set, keys live in <dataDir>/keys/ and are generated there on first use
// when the caller allows it (the local stack); production sets the variables.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { KEY_BYTES } from '../crypto/aes-gcm.js';
import { KeyConfigError, keyringOf, readKeyEntries, type Keyring } from '../crypto/keyring.js';
import { createSigner, createVerifier, ED25519_KEY_BYTES, fingerprint, generateSigningSeed, publicKeyOfSeed, type AuditSigner, type AuditVerifier } from './signing.js';

/** The key-encryption keys that wrap per-person keys: the first wraps, all unwrap. */
export type KeyEncryptionKeys = Keyring;

export type StoreKeys = {
  /** Absent when only public keys are configured: such a process can verify but not append. */
  signer?: AuditSigner;
  verifier: AuditVerifier;
  /** Absent when no KEK is configured: such a process cannot seal or read personal data. */
  kek?: KeyEncryptionKeys;
};

export type LoadStoreKeysOptions = {
  dataDir: string;
  env?: NodeJS.ProcessEnv;
  /** Generate missing default key files under <dataDir>/keys (for the local stack only). */
  create?: boolean;
};

/** The variables of the store's generated keys (each also read as `<name>_FILE`). */
export const AUDIT_SIGNING_KEY_VARIABLE = 'PROVISIONER_AUDIT_SIGNING_KEY';
export const STORE_KEK_VARIABLE = 'PROVISIONER_STORE_KEK';

export function defaultKeyPaths(dataDir: string): { signing: string; kek: string } {
  return { signing: path.join(dataDir, 'keys', 'audit-signing.key'), kek: path.join(dataDir, 'keys', 'store-kek.key') };
}

export function loadStoreKeys(options: LoadStoreKeysOptions): StoreKeys {
  const env = options.env ?? process.env;
  const defaults = defaultKeyPaths(options.dataDir);
  const create = options.create ?? false;
  const signing = readKeyEntries({
    name: AUDIT_SIGNING_KEY_VARIABLE, bytes: ED25519_KEY_BYTES, env, defaultFile: defaults.signing,
    ...(create ? { generate: () => {
      const seed = generateSigningSeed();
      return { id: fingerprint(publicKeyOfSeed(seed)), material: seed };
    } } : {}),
  });
  const verifyOnly = readKeyEntries({ name: 'PROVISIONER_AUDIT_VERIFY_KEYS', bytes: ED25519_KEY_BYTES, env });
  const kek = keyringOf(readKeyEntries({
    name: STORE_KEK_VARIABLE, bytes: KEY_BYTES, env, defaultFile: defaults.kek,
    ...(create ? { generate: () => ({ id: `kek-${new Date().toISOString().slice(0, 10)}`, material: randomBytes(KEY_BYTES) }) } : {}),
  }));

  const publicKeys = [
    ...signing.map((e) => ({ id: e.id, publicKey: publicKeyOfSeed(e.material) })),
    ...verifyOnly.map((e) => ({ id: e.id, publicKey: e.material })),
  ];
  const ids = publicKeys.map((k) => k.id);
  const dup = ids.find((id, i) => ids.indexOf(id) !== i);
  if (dup) throw new KeyConfigError(`audit key id ${dup} is configured both as a signing key and as a verify key`);
  const first = signing[0];
  return {
    ...(first ? { signer: createSigner(first.id, first.material) } : {}),
    verifier: createVerifier(publicKeys),
    ...(kek ? { kek } : {}),
  };
}

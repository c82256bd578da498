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
import { existsSync } from 'node:fs';
import path from 'node:path';
import { KEY_BYTES } from './aes-gcm.js';
import { createKeyFile, KeyConfigError, parseKeyEntries, readKeyFile, type KeyEntry } from './keyring.js';
import { createSigner, createVerifier, ED25519_KEY_BYTES, fingerprint, generateSigningSeed, publicKeyOfSeed, type AuditSigner, type AuditVerifier } from './signing.js';
import { randomBytes } from 'node:crypto';

/** The key-encryption keys that wrap per-person keys: the first wraps, all unwrap. */
export type KeyEncryptionKeys = { activeId: string; keys: ReadonlyMap<string, Buffer> };

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

export function defaultKeyPaths(dataDir: string): { signing: string; kek: string } {
  return { signing: path.join(dataDir, 'keys', 'audit-signing.key'), kek: path.join(dataDir, 'keys', 'store-kek.key') };
}

export function loadStoreKeys(options: LoadStoreKeysOptions): StoreKeys {
  const env = options.env ?? process.env;
  const defaults = defaultKeyPaths(options.dataDir);
  const signing = entriesFrom(env, 'PROVISIONER_AUDIT_SIGNING_KEY', ED25519_KEY_BYTES, defaults.signing, options.create ?? false, () => {
    const seed = generateSigningSeed();
    return { id: fingerprint(publicKeyOfSeed(seed)), material: seed };
  });
  const verifyOnly = entriesFrom(env, 'PROVISIONER_AUDIT_VERIFY_KEYS', ED25519_KEY_BYTES, undefined, false);
  const kekEntries = entriesFrom(env, 'PROVISIONER_STORE_KEK', KEY_BYTES, defaults.kek, options.create ?? false, () => ({
    id: `kek-${new Date().toISOString().slice(0, 10)}`,
    material: randomBytes(KEY_BYTES),
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
    ...(kekEntries[0] ? { kek: { activeId: kekEntries[0].id, keys: new Map(kekEntries.map((e) => [e.id, e.material])) } } : {}),
  };
}

/** Inline variable, else its _FILE variable, else the default file (created if allowed). */
function entriesFrom(
  env: NodeJS.ProcessEnv,
  name: string,
  bytes: number,
  defaultFile: string | undefined,
  create: boolean,
  generate?: () => KeyEntry,
): KeyEntry[] {
  const inline = env[name];
  if (inline) return parseKeyEntries(inline, name, bytes);
  const file = env[`${name}_FILE`];
  if (file) return readKeyFile(file, bytes);
  if (!defaultFile) return [];
  if (!existsSync(defaultFile)) {
    if (!create || !generate) return [];
    try {
      createKeyFile(defaultFile, generate(), `generated for the local stack; production sets ${name} or ${name}_FILE`);
    } catch (err) {
      // Another process created it between our check and our write: use theirs.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  return readKeyFile(defaultFile, bytes);
}

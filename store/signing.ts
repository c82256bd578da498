// Ed25519 signatures for audit records and checkpoints. Ed25519 rather than HMAC because an
// auditor (or the SIEM) can then verify the chain with the public key alone, without being able to
// forge a record. Each purpose signs under its own prefix, so a record's signature can never be
// passed off as a checkpoint's.
import { createHash, createPrivateKey, createPublicKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto';

// DER headers that wrap a raw 32-byte Ed25519 seed (PKCS#8) or public key (SPKI), RFC 8410.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
export const ED25519_KEY_BYTES = 32;

export type SignaturePurpose = 'record' | 'checkpoint';
const domain = (purpose: SignaturePurpose): string => `provisioner.audit.${purpose}.v1:`;

export type AuditSigner = {
  readonly keyId: string;
  readonly publicKey: Buffer;
  /** Base64 Ed25519 signature over the purpose prefix and the message. */
  sign(purpose: SignaturePurpose, message: string): string;
};

export type AuditVerifier = {
  knows(keyId: string): boolean;
  keyIds(): string[];
  verify(purpose: SignaturePurpose, keyId: string, message: string, signature: string): boolean;
};

export function generateSigningSeed(): Buffer {
  return randomBytes(ED25519_KEY_BYTES);
}

export function publicKeyOfSeed(seed: Buffer): Buffer {
  return createPublicKey(privateKeyOf(seed)).export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length);
}

/** A key id derived from the public key, for keys configured without one. */
export function fingerprint(publicKey: Buffer): string {
  return `ed25519-${createHash('sha256').update(publicKey).digest('hex').slice(0, 16)}`;
}

function privateKeyOf(seed: Buffer): KeyObject {
  if (seed.length !== ED25519_KEY_BYTES) throw new RangeError(`an Ed25519 seed is ${ED25519_KEY_BYTES} bytes, got ${seed.length}`);
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

function publicKeyObject(raw: Buffer): KeyObject {
  if (raw.length !== ED25519_KEY_BYTES) throw new RangeError(`an Ed25519 public key is ${ED25519_KEY_BYTES} bytes, got ${raw.length}`);
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

export function createSigner(keyId: string, seed: Buffer): AuditSigner {
  const key = privateKeyOf(seed);
  return {
    keyId,
    publicKey: publicKeyOfSeed(seed),
    sign: (purpose, message) => sign(null, Buffer.from(domain(purpose) + message, 'utf8'), key).toString('base64'),
  };
}

export function createVerifier(publicKeys: Array<{ id: string; publicKey: Buffer }>): AuditVerifier {
  const keys = new Map(publicKeys.map((k) => [k.id, publicKeyObject(k.publicKey)]));
  return {
    knows: (keyId) => keys.has(keyId),
    keyIds: () => [...keys.keys()],
    verify(purpose, keyId, message, signature) {
      const key = keys.get(keyId);
      if (!key) return false;
      const bytes = Buffer.from(signature, 'base64');
      if (bytes.length !== 64) return false;
      return verify(null, Buffer.from(domain(purpose) + message, 'utf8'), key, bytes);
    },
  };
}

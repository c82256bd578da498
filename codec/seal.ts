// AES-256-GCM sealing of bytes under the active key of a keyring: iv | ciphertext | tag, with the
// key id kept beside it so keys can rotate. Used for workflow payloads and dead letters alike.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { CodecKeyring } from './keyring.js';

const IV_BYTES = 12;
const TAG_BYTES = 16;

export function seal(keyring: CodecKeyring, clear: Uint8Array): { keyId: string; sealed: Buffer } {
  const keyId = keyring.activeKeyId;
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keyring.keys.get(keyId)!, iv);
  return { keyId, sealed: Buffer.concat([iv, cipher.update(clear), cipher.final(), cipher.getAuthTag()]) };
}

export function open(keyring: CodecKeyring, keyId: string, sealed: Uint8Array): Buffer {
  const key = keyring.keys.get(keyId);
  if (!key) throw new Error(`sealed with unknown key id ${JSON.stringify(keyId)}: add it to the codec keyring`);
  const data = Buffer.from(sealed);
  const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
  decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
  return Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
}

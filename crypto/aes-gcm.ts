// AES-256-GCM sealing with associated data, as one self-describing byte string:
// version (1 byte) | IV (12 bytes) | ciphertext | tag (16 bytes). The associated data binds a
// ciphertext to where it belongs (a person, a record, a workflow payload, a dead letter), so it
// cannot be moved elsewhere unnoticed. The one sealer of the project: the store's person keys and
// personal data, the payload codec and the sealed dead letters all use it.
import { createDecipheriv, createCipheriv, randomBytes } from 'node:crypto';

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const KEY_BYTES = 32;

export function seal(key: Buffer, plaintext: Uint8Array, associatedData: string): Buffer {
  if (key.length !== KEY_BYTES) throw new RangeError(`AES-256-GCM needs a ${KEY_BYTES}-byte key, got ${key.length}`);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(associatedData, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.from([VERSION]), iv, body, cipher.getAuthTag()]);
}

export class DecryptionError extends Error {
  override readonly name = 'DecryptionError';
}

export function open(key: Buffer, sealed: Uint8Array, associatedData: string): Buffer {
  if (key.length !== KEY_BYTES) throw new RangeError(`AES-256-GCM needs a ${KEY_BYTES}-byte key, got ${key.length}`);
  if (sealed.length < 1 + IV_BYTES + TAG_BYTES || sealed[0] !== VERSION) throw new DecryptionError('not a sealed value of a known version');
  return decrypt(key, sealed.subarray(1), associatedData);
}

/**
 * Opens the format the payload codec and the dead letters wrote before they shared this sealer:
 * IV | ciphertext | tag, with no version byte and no associated data. Read-only: nothing writes it
 * any more, but Temporal histories and dead-letter topics still hold values sealed that way. The
 * caller knows a value is in this format from where it came (its encoding or headers), never by
 * guessing from the bytes.
 */
export function openUnbound(key: Buffer, sealed: Uint8Array): Buffer {
  if (key.length !== KEY_BYTES) throw new RangeError(`AES-256-GCM needs a ${KEY_BYTES}-byte key, got ${key.length}`);
  if (sealed.length < IV_BYTES + TAG_BYTES) throw new DecryptionError('too short to be a sealed value');
  return decrypt(key, sealed, undefined);
}

function decrypt(key: Buffer, ivBodyTag: Uint8Array, associatedData: string | undefined): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, ivBodyTag.subarray(0, IV_BYTES));
  if (associatedData !== undefined) decipher.setAAD(Buffer.from(associatedData, 'utf8'));
  decipher.setAuthTag(ivBodyTag.subarray(ivBodyTag.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(ivBodyTag.subarray(IV_BYTES, ivBodyTag.length - TAG_BYTES)), decipher.final()]);
  } catch (err) {
    throw new DecryptionError('the sealed value does not open with this key (wrong key, wrong context or altered)', { cause: err });
  }
}

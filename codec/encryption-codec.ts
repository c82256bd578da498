// The payload codec: every payload in Temporal histories (workflow inputs, signals, activity
// inputs and results, and, with the failure converter, failure messages and stack traces) is
// AES-256-GCM sealed (crypto/aes-gcm.ts), with the key id in the payload's metadata so keys can
// rotate, and bound by associated data to being a Temporal payload under that key id.
//
// Payloads written before the codec used the shared sealer (encoding `binary/encrypted`, no
// associated data) are still opened for reading; new payloads are always written the new way.
import type { Payload, PayloadCodec } from '@temporalio/common';
import protos from '@temporalio/proto';
import { open, openUnbound, seal } from '../crypto/aes-gcm.js';
import { activeKey, keyById, type Keyring } from '../crypto/keyring.js';

const { temporal } = protos;
export const ENCRYPTED_ENCODING = 'binary/sealed';
/** The encoding of payloads sealed without associated data (before issue 14): read, never written. */
export const LEGACY_ENCRYPTED_ENCODING = 'binary/encrypted';
export const METADATA_KEY_ID = 'encryption-key-id';
const KEYRING_NAME = 'the codec keyring (PROVISIONER_CODEC_KEYS)';

const text = (value: string) => new TextEncoder().encode(value);
const metadataText = (payload: Payload, name: string) => Buffer.from(payload.metadata?.[name] ?? new Uint8Array()).toString();
const associatedData = (keyId: string) => `temporal-payload|${keyId}`;

export class EncryptionCodec implements PayloadCodec {
  constructor(private readonly keyring: Keyring) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const { id, key } = activeKey(this.keyring);
    return payloads.map((payload) => ({
      metadata: { encoding: text(ENCRYPTED_ENCODING), [METADATA_KEY_ID]: text(id) },
      data: seal(key, temporal.api.common.v1.Payload.encode(payload).finish(), associatedData(id)),
    }));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const encoding = metadataText(payload, 'encoding');
      if (encoding !== ENCRYPTED_ENCODING && encoding !== LEGACY_ENCRYPTED_ENCODING) return payload;
      const keyId = metadataText(payload, METADATA_KEY_ID);
      const key = keyById(this.keyring, keyId, KEYRING_NAME);
      const data = payload.data ?? new Uint8Array();
      const clear = encoding === ENCRYPTED_ENCODING ? open(key, data, associatedData(keyId)) : openUnbound(key, data);
      return temporal.api.common.v1.Payload.decode(clear);
    });
  }
}

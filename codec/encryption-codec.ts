// The payload codec: every payload in Temporal histories (workflow inputs, signals, activity
// inputs and results, and, with the failure converter, failure messages and stack traces) is
// AES-256-GCM encrypted, with the key id in the payload's metadata so keys can rotate.
import type { Payload, PayloadCodec } from '@temporalio/common';
import protos from '@temporalio/proto';
import type { CodecKeyring } from './keyring.js';
import { open, seal } from './seal.js';

const { temporal } = protos;
export const ENCRYPTED_ENCODING = 'binary/encrypted';
const METADATA_KEY_ID = 'encryption-key-id';

const text = (value: string) => new TextEncoder().encode(value);

export class EncryptionCodec implements PayloadCodec {
  constructor(private readonly keyring: CodecKeyring) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const { keyId, sealed } = seal(this.keyring, temporal.api.common.v1.Payload.encode(payload).finish());
      return { metadata: { encoding: text(ENCRYPTED_ENCODING), [METADATA_KEY_ID]: text(keyId) }, data: sealed };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const encoding = payload.metadata?.encoding ? Buffer.from(payload.metadata.encoding).toString() : '';
      if (encoding !== ENCRYPTED_ENCODING) return payload;
      const keyId = Buffer.from(payload.metadata?.[METADATA_KEY_ID] ?? new Uint8Array()).toString();
      return temporal.api.common.v1.Payload.decode(open(this.keyring, keyId, payload.data ?? new Uint8Array()));
    });
  }
}

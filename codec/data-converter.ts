// The data converter shared by every Temporal client and worker of the project: the encryption
// codec, and a failure converter that encodes messages and stack traces.
import path from 'node:path';
import type { DataConverter } from '@temporalio/common';
import { projectRoot } from '../schemas/config.js';
import { EncryptionCodec } from './encryption-codec.js';
import { loadKeyring } from './keyring.js';

export const failureConverterPath = path.join(projectRoot, 'codec', 'failure-converter.cjs');

/** `mode`: in production no codec key is ever generated (codec/keyring.ts). */
export function dataConverter(dataDir: string, mode: 'development' | 'production' = 'development'): DataConverter {
  return { payloadCodecs: [new EncryptionCodec(loadKeyring({ dataDir, mode }))], failureConverterPath };
}

// The development IdP's signing keys: an RS256 and an ES256 private JWK, generated once into
// <dataDir>/idp/jwks.json (0600, folder 0700) and kept, so tokens it signed stay verifiable across
// restarts; the cookie-signing key and the temporal-ui client secret beside them.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ensureDevSecret } from '../dev-secrets.js';

const jwkSet = z.object({ keys: z.array(z.looseObject({ kty: z.string(), kid: z.string(), alg: z.string(), d: z.string() })).min(1) });
export type PrivateJwks = z.output<typeof jwkSet>;

export const idpDir = (dataDir: string) => path.join(dataDir, 'idp');

function generate(): PrivateJwks {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  // The RS256 key comes first: oidc-provider signs with the first key of an algorithm's type.
  return {
    keys: [
      { ...rsa, kty: 'RSA', kid: `dev-rs256-${randomUUID().slice(0, 8)}`, alg: 'RS256', use: 'sig', d: rsa.d! },
      { ...ec, kty: 'EC', kid: `dev-es256-${randomUUID().slice(0, 8)}`, alg: 'ES256', use: 'sig', d: ec.d! },
    ],
  };
}

/** The private signing keys, made on the first start; returns whether they were made now. */
export function ensureSigningKeys(dataDir: string): { jwks: PrivateJwks; file: string; created: boolean } {
  const dir = idpDir(dataDir);
  const file = path.join(dir, 'jwks.json');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  let created = false;
  if (!existsSync(file)) {
    try {
      writeFileSync(file, `${JSON.stringify(generate(), null, 2)}\n`, { mode: 0o600, flag: 'wx' });
      created = true;
    } catch (err) {
      // Another start made them first: theirs are the keys.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  chmodSync(file, 0o600);
  const parsed = jwkSet.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) throw new Error(`idp: ${file} does not hold private signing keys; remove it and start again (new keys are made)`);
  return { jwks: parsed.data, file, created };
}

/** The key that signs the IdP's cookies (a development secret, kept across restarts). */
export const cookieKey = (dataDir: string) => ensureDevSecret(path.join(idpDir(dataDir), 'cookie-key'));

/** The temporal-ui client's secret (confidential client of a self-hosted Temporal UI). */
export const temporalUiClientSecretFile = (dataDir: string) => path.join(idpDir(dataDir), 'temporal-ui-client-secret');

// Reaching the organisation's OpenID provider the way the API can trust it: OpenID Connect
// Discovery 1.0 (§4: <issuer>/.well-known/openid-configuration; §4.3: the document's issuer is the
// configured one exactly) and the provider's keys (jwks_uri), over HTTPS or loopback http, through
// a private CA when api.oidc.caFile names one (an undici Agent, as the SCIM connector does), each
// answer bounded in time and size. A provider that cannot be reached, or answers what no provider
// would, is IdpUnavailableError: the API answers 503 then, never 401, as the token may be fine.
import { readFileSync } from 'node:fs';
import { fetch } from 'undici';
import { z } from 'zod';
import { certificateErrorCode } from '../connectors/certificates.js';
import { readBoundedText, ResponseTooLarge } from '../connectors/scim/bounded-body.js';
import { tlsDispatcher } from '../connectors/scim/tls.js';
import { httpsOrLoopback } from '../schemas/config.js';

/** The provider could not be asked (down, slow, a certificate not trusted, nonsense answered): 503, not the token's fault. */
export class IdpUnavailableError extends Error {
  override readonly name = 'IdpUnavailableError';
}

/** GETs a URL of the provider and returns its body; throws IdpUnavailableError naming the URL and what went wrong. */
export type IdpGet = (url: string) => Promise<string>;

export type IdpHttpOptions = {
  /** PEM CA bundle file (api.oidc.caFile), re-read on use: a replaced bundle is picked up. */
  caFile?: string | undefined;
  timeoutMs?: number;
  /** The largest answer read (a discovery document or a key set is a few kilobytes). */
  maxBytes?: number;
};

/** The provider's HTTP client: bounded GETs, through the private CA when one is configured. */
export function idpHttp(options: IdpHttpOptions = {}): { get: IdpGet; close(): Promise<void> } {
  const { caFile, timeoutMs = 5_000, maxBytes = 512 * 1024 } = options;
  const tls = tlsDispatcher(caFile ? { ca: () => readFileSync(caFile, 'utf8'), source: `api.oidc.caFile ${caFile}` } : undefined);
  const get: IdpGet = async (url) => {
    let text: string;
    let status: number;
    try {
      const dispatcher = tls.current();
      const res = await fetch(url, { headers: { accept: 'application/json' }, redirect: 'error', signal: AbortSignal.timeout(timeoutMs), ...(dispatcher ? { dispatcher } : {}) });
      status = res.status;
      text = await readBoundedText(res, maxBytes);
    } catch (err) {
      const cause = (err as { cause?: unknown }).cause;
      const certificate = certificateErrorCode(cause);
      const why = certificate
        ? `its TLS certificate could not be verified (${certificate}); ${caFile ? `give the CA that issued it in api.oidc.caFile (now ${caFile})` : 'if a private CA issued it, set PROVISIONER_OIDC_CA_FILE (api.oidc.caFile)'}`
        : err instanceof ResponseTooLarge ? `it answered more than ${maxBytes} bytes`
          : (err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms`
            : (err as NodeJS.ErrnoException).code === 'ENOENT' ? `the CA file ${caFile} does not exist`
              : `${(cause as Error | undefined)?.message ?? (err as Error).message}`;
      throw new IdpUnavailableError(`oidc: ${url}: ${why}`, { cause: err });
    }
    if (status !== 200) throw new IdpUnavailableError(`oidc: ${url} answered HTTP ${status}`);
    return text;
  };
  return { get, close: () => tls.close() };
}

const providerUrl = z.string().refine(httpsOrLoopback, 'expected an https:// URL (http:// only to localhost or 127.0.0.1)');

/** The part of the provider's metadata the API uses (a tolerant object: the provider sends much more). */
const discoverySchema = z.object({
  issuer: z.string().min(1),
  jwks_uri: providerUrl,
  id_token_signing_alg_values_supported: z.array(z.string()).optional(),
});
export type ProviderMetadata = z.infer<typeof discoverySchema>;

/** Where OpenID Connect Discovery 1.0 §4 puts an issuer's metadata. */
export const discoveryUrl = (issuer: string): string => `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;

/** Reads and checks the issuer's metadata; IdpUnavailableError when it cannot be read or is not the configured issuer's. */
export async function discover(issuer: string, get: IdpGet): Promise<ProviderMetadata> {
  const url = discoveryUrl(issuer);
  const text = await get(url);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new IdpUnavailableError(`oidc: ${url} did not answer JSON`);
  }
  const parsed = discoverySchema.safeParse(json);
  if (!parsed.success) {
    throw new IdpUnavailableError(`oidc: ${url} is not an OpenID provider's metadata: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'document'}: ${i.message}`).slice(0, 3).join('; ')}`);
  }
  // §4.3: a document naming another issuer is refused (it would hand the API someone else's keys).
  if (parsed.data.issuer !== issuer) {
    throw new IdpUnavailableError(`oidc: ${url} names the issuer ${JSON.stringify(parsed.data.issuer.slice(0, 200))}, not the configured ${JSON.stringify(issuer)}; set PROVISIONER_OIDC_ISSUER (api.oidc.issuer) to the provider's issuer exactly`);
  }
  return parsed.data;
}

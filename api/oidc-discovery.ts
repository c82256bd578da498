// Reaching the organisation's OpenID provider the way the API can trust it: OpenID Connect
// Discovery 1.0 (§4: <issuer>/.well-known/openid-configuration; §4.3: the document's issuer is the
// configured one exactly) and the provider's keys (jwks_uri), over HTTPS or loopback http, through
// a private CA when api.oidc.caFile names one (an undici Agent, as the SCIM connector does), each
// answer bounded in time and size. A provider that cannot be reached, or answers what no provider
// would, is IdpUnavailableError: the API answers 503 then, never 401, as the token may be fine.
// `provisioner login` (cli/login/) reaches the provider through this module too: the same trust,
// bounds and issuer check, and a form POST for the token, device and revocation endpoints.
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

/**
 * POSTs a form to one of the provider's endpoints (RFC 6749 §4.1.3 style: token, device
 * authorization, revocation) and returns its status and JSON answer, whatever the status (an OAuth
 * error answer is the caller's to read, RFC 6749 §5.2); IdpUnavailableError when it cannot be asked
 * or a success is not JSON.
 */
export type IdpPostForm = (url: string, form: Record<string, string>) => Promise<{ status: number; json: unknown }>;

export type IdpHttp = { get: IdpGet; postForm: IdpPostForm; close(): Promise<void> };

export type IdpHttpOptions = {
  /** PEM CA bundle file (api.oidc.caFile), re-read on use: a replaced bundle is picked up. */
  caFile?: string | undefined;
  timeoutMs?: number;
  /** The largest answer read (a discovery document or a key set is a few kilobytes). */
  maxBytes?: number;
};

/** The provider's HTTP client: bounded requests, no redirects, through the private CA when one is configured. */
export function idpHttp(options: IdpHttpOptions = {}): IdpHttp {
  const { caFile, timeoutMs = 5_000, maxBytes = 512 * 1024 } = options;
  const tls = tlsDispatcher(caFile ? { ca: () => readFileSync(caFile, 'utf8'), source: `api.oidc.caFile ${caFile}` } : undefined);
  const request = async (url: string, init: { method?: string; headers: Record<string, string>; body?: string }): Promise<{ status: number; text: string }> => {
    try {
      const dispatcher = tls.current();
      const res = await fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(timeoutMs), ...(dispatcher ? { dispatcher } : {}) });
      return { status: res.status, text: await readBoundedText(res, maxBytes) };
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
  };
  const get: IdpGet = async (url) => {
    const { status, text } = await request(url, { headers: { accept: 'application/json' } });
    if (status !== 200) throw new IdpUnavailableError(`oidc: ${url} answered HTTP ${status}`);
    return text;
  };
  const postForm: IdpPostForm = async (url, form) => {
    const { status, text } = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams(form).toString(),
    });
    try {
      return { status, json: text === '' ? undefined : JSON.parse(text) };
    } catch {
      // An error page is the caller's to name by its status; a success without JSON is the provider's fault.
      if (status < 200 || status > 299) return { status, json: undefined };
      throw new IdpUnavailableError(`oidc: ${url} answered HTTP ${status} without JSON`);
    }
  };
  return { get, postForm, close: () => tls.close() };
}

const providerUrl = z.string().refine(httpsOrLoopback, 'expected an https:// URL (http:// only to localhost or 127.0.0.1)');

/**
 * The part of the provider's metadata the API (issuer, jwks_uri) and `provisioner login` (the
 * token, device authorization and revocation endpoints; RFC 8414 §2, RFC 8628 §4, RFC 7009) use: a
 * tolerant object, the provider sends much more.
 */
const discoverySchema = z.object({
  issuer: z.string().min(1),
  jwks_uri: providerUrl,
  id_token_signing_alg_values_supported: z.array(z.string()).optional(),
  token_endpoint: providerUrl.optional(),
  device_authorization_endpoint: providerUrl.optional(),
  revocation_endpoint: providerUrl.optional(),
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

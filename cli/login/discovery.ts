// The CLI's view of the organisation's OpenID provider: its discovery document (OpenID Connect
// Discovery 1.0 §4, RFC 8414 §3), read with a size bound and validated, and one bounded JSON POST
// for its device authorization, token and revocation endpoints.
import { z } from 'zod';

/** No IdP answer the CLI reads is anywhere near this; a larger one is refused, not buffered. */
export const MAX_IDP_RESPONSE_BYTES = 256 * 1024;
const TIMEOUT_MS = 15_000;

export class IdpError extends Error {
  override readonly name = 'IdpError';
}

/** https, or plain http to this machine (the development IdP). */
const endpoint = z.string().refine((u) => {
  try {
    const { protocol, hostname } = new URL(u);
    return protocol === 'https:' || (protocol === 'http:' && /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(hostname));
  } catch {
    return false;
  }
}, 'expected an https:// URL (http:// only to localhost or 127.0.0.1)');

export const discoverySchema = z.looseObject({
  issuer: z.string().min(1),
  token_endpoint: endpoint,
  device_authorization_endpoint: endpoint.optional(),
  revocation_endpoint: endpoint.optional(),
  jwks_uri: endpoint.optional(),
  grant_types_supported: z.array(z.string()).optional(),
});
export type Discovery = z.output<typeof discoverySchema>;

/** The body of a response, at most `max` bytes; more is an error, the rest is never read. */
export async function readBounded(res: Response, max = MAX_IDP_RESPONSE_BYTES): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > max) {
    await res.body?.cancel();
    throw new IdpError(`answered ${declared} bytes, more than the ${max} this client reads`);
  }
  if (!res.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      throw new IdpError(`answered more than the ${max} bytes this client reads`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function fetchJson(url: string, init: RequestInit, doFetch: typeof fetch): Promise<{ status: number; json: unknown }> {
  let res: Response;
  try {
    res = await doFetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (err) {
    const why = (err as Error).name === 'TimeoutError' ? `no answer within ${TIMEOUT_MS / 1000} s` : 'connection failed';
    throw new IdpError(`cannot reach ${new URL(url).origin} (${why})`, { cause: err });
  }
  const text = await readBounded(res);
  try {
    return { status: res.status, json: text === '' ? undefined : JSON.parse(text) };
  } catch {
    // An error page is the caller's to name by its status; a success without JSON is the IdP's fault.
    if (!res.ok) return { status: res.status, json: undefined };
    throw new IdpError(`${new URL(url).pathname} answered ${res.status} without JSON`);
  }
}

/** Discovery of `issuer`; the document must name the same issuer (OpenID Connect Discovery 1.0 §4.3). */
export async function discover(issuer: string, doFetch: typeof fetch = fetch): Promise<Discovery> {
  const base = issuer.replace(/\/+$/, '');
  const url = `${base}/.well-known/openid-configuration`;
  const { status, json } = await fetchJson(url, { headers: { accept: 'application/json' } }, doFetch).catch((err: Error) => {
    throw new IdpError(`oidc: discovery of ${issuer} failed: ${err.message}; check api.oidc.issuer (PROVISIONER_OIDC_ISSUER)`, { cause: err });
  });
  if (status !== 200) throw new IdpError(`oidc: discovery of ${issuer} answered ${status}; check api.oidc.issuer (PROVISIONER_OIDC_ISSUER)`);
  const parsed = discoverySchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new IdpError(`oidc: the discovery document of ${issuer} is not usable: ${issue.message} at ${issue.path.join('.') || '(top level)'}`);
  }
  if (parsed.data.issuer.replace(/\/+$/, '') !== base) {
    throw new IdpError(`oidc: the discovery document at ${url} names the issuer ${parsed.data.issuer}, not ${issuer}; set api.oidc.issuer (PROVISIONER_OIDC_ISSUER) to the issuer exactly`);
  }
  return parsed.data;
}

/** A form POST to an IdP endpoint (RFC 6749 §4.1.3 style), its status and JSON answer. */
export function postForm(url: string, form: Record<string, string>, doFetch: typeof fetch = fetch): Promise<{ status: number; json: unknown }> {
  return fetchJson(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body: new URLSearchParams(form).toString() }, doFetch);
}

/** An OAuth error answer (RFC 6749 §5.2). */
export const oauthErrorSchema = z.looseObject({ error: z.string(), error_description: z.string().optional() });

/** A successful token answer (RFC 6749 §5.1); the values are secrets and never printed. */
export const tokenAnswerSchema = z.looseObject({
  access_token: z.string().min(1),
  token_type: z.string().refine((t) => t.toLowerCase() === 'bearer', 'expected token_type Bearer'),
  expires_in: z.coerce.number().int().positive().optional(),
  refresh_token: z.string().min(1).optional(),
  id_token: z.string().min(1).optional(),
  scope: z.string().optional(),
});
export type TokenAnswer = z.output<typeof tokenAnswerSchema>;

// SASL/OAUTHBEARER's token for kafkajs: the OAuth 2.0 client-credentials grant (RFC 6749 §4.4)
// against the configured token endpoint, the token kept until shortly before it expires. kafkajs
// asks for a token at each new connection and re-authentication; one request serves them all.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { Config } from '../schemas/config.js';

export type OAuthBearerSettings = NonNullable<NonNullable<Config['kafka']['sasl']>['oauthbearer']>;

/** The hop's one line when no token could be had: what failed and which settings to check, never the secret. */
export class KafkaTokenError extends Error {
  override readonly name = 'KafkaTokenError';
}

// RFC 6749 §5.1: access_token and token_type are required, expires_in recommended.
const tokenResponse = z.object({
  access_token: z.string().min(1),
  token_type: z.string().refine((t) => t.toLowerCase() === 'bearer', 'expected token_type "Bearer"'),
  expires_in: z.coerce.number().positive().optional(),
});

// RFC 6749 §5.2: the error code is a short ASCII word; anything else is not repeated.
const errorResponse = z.object({ error: z.string().regex(/^[\x20-\x7e]{1,64}$/) });

/** Without expires_in the token is kept this long. */
const DEFAULT_LIFETIME_MS = 60_000;
/** A token is renewed when this much of its life (at most a minute) is left. */
const renewAt = (lifetimeMs: number) => lifetimeMs - Math.min(60_000, lifetimeMs / 5);

export type OAuthBearerProvider = () => Promise<{ value: string }>;

/** RFC 6749 §2.3.1: client_secret_basic, id and secret form-encoded before base64. */
function basicCredentials(clientId: string, secret: string): string {
  const encode = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return Buffer.from(`${encode(clientId)}:${encode(secret)}`).toString('base64');
}

export function oauthBearerProvider(
  settings: OAuthBearerSettings,
  options: { now?: () => number; timeoutMs?: number } = {},
): OAuthBearerProvider {
  const now = options.now ?? Date.now;
  const check = 'check kafka.sasl.oauthbearer.tokenUrl, clientId and clientSecretFile';
  const who = `client "${settings.clientId}"`;
  let cached: { value: string; renewAt: number } | undefined;
  let pending: Promise<{ value: string }> | undefined;

  async function fetchToken(): Promise<{ value: string }> {
    let secret: string;
    try {
      secret = readFileSync(settings.clientSecretFile, 'utf8').trim();
    } catch (err) {
      throw new KafkaTokenError(`kafka: the OAuth client secret file ${settings.clientSecretFile} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}); check kafka.sasl.oauthbearer.clientSecretFile`, { cause: err });
    }
    const body = new URLSearchParams({ grant_type: 'client_credentials', ...(settings.scope ? { scope: settings.scope } : {}) });
    const started = now();
    let response: Response;
    try {
      response = await fetch(settings.tokenUrl, {
        method: 'POST',
        headers: { authorization: `Basic ${basicCredentials(settings.clientId, secret)}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body,
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
    } catch (err) {
      // fetch says why in its cause: a socket code, or the reason it would not try (a blocked port).
      const inner = (err as Error & { cause?: { code?: string; message?: string } }).cause;
      const cause = inner?.code ?? inner?.message ?? (err as Error).name;
      throw new KafkaTokenError(`kafka: the OAuth token endpoint ${settings.tokenUrl} did not answer for ${who} (${cause}); ${check}`, { cause: err });
    }
    const json: unknown = await response.json().catch(() => undefined);
    if (!response.ok) {
      const code = errorResponse.safeParse(json);
      throw new KafkaTokenError(`kafka: the OAuth token endpoint ${settings.tokenUrl} refused ${who} (HTTP ${response.status}${code.success ? `, ${code.data.error}` : ''}); ${check}`);
    }
    const token = tokenResponse.safeParse(json);
    if (!token.success) {
      const what = token.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join(', ');
      throw new KafkaTokenError(`kafka: the OAuth token endpoint ${settings.tokenUrl} answered ${who} without a usable token (${what}); check kafka.sasl.oauthbearer.tokenUrl`);
    }
    const lifetimeMs = token.data.expires_in ? token.data.expires_in * 1000 : DEFAULT_LIFETIME_MS;
    cached = { value: token.data.access_token, renewAt: started + renewAt(lifetimeMs) };
    return { value: cached.value };
  }

  return async () => {
    if (cached && now() < cached.renewAt) return { value: cached.value };
    pending ??= fetchToken().finally(() => (pending = undefined));
    return pending;
  };
}

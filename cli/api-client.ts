// The CLI's side of the HTTP API: the caller's token, the API's address, and one small client.
// Deciding commands (approve, reject, fence release/reject) go through the API, so the decision is
// taken as the authenticated caller and audited there (docs/architecture.md#security); the CLI never names the
// approver or operator itself. The token is never printed, logged or put in an error message.
// Where it comes from: --token-file, PROVISIONER_API_TOKEN, then `provisioner login` (cli/login/).
import { readFileSync } from 'node:fs';
import { ConfigError, type Config } from '../schemas/config.js';
import { chooseToken, storedLoginToken, TOKEN_HINT } from './login/token-source.js';

export { TOKEN_HINT };

/** There is no usable token, or no usable API address: a configuration problem of the caller. */
export class ApiClientConfigError extends ConfigError {}

/** The API answered with an error (`{ error, reason }`), or could not be reached. */
export class ApiCallError extends Error {
  override readonly name = 'ApiCallError';
  constructor(
    message: string,
    /** The HTTP status, or 0 when the API could not be reached. */
    readonly status: number,
    /** The API's stable reason code (`requester`, `role-not-allowed`, ...), or `unreachable`. */
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

// A JWT is base64url segments and dots; anything else would not survive an HTTP header anyway.
const TOKEN_SHAPE = /^[A-Za-z0-9._~+/=-]+$/;

type TokenOptions = { tokenFile?: string; token?: string | undefined; readFile?: (file: string) => string };

/**
 * The token given for this invocation: the file named by --token-file when given (an explicit
 * choice), else the configured one (api.token, PROVISIONER_API_TOKEN); undefined when neither is
 * (the stored login is next: cli/login/token-source.ts).
 */
export function explicitApiToken(options: TokenOptions): string | undefined {
  const read = options.readFile ?? ((file: string) => readFileSync(file, 'utf8'));
  let token: string;
  let source: string;
  const choice = chooseToken({ tokenFile: options.tokenFile, envToken: options.token, now: 0 });
  if (choice.kind === 'file') {
    source = `--token-file ${choice.file}`;
    try {
      token = read(choice.file).trim();
    } catch (err) {
      throw new ApiClientConfigError(`cannot read the API token from ${source}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
    }
  } else if (choice.kind === 'env') {
    source = 'PROVISIONER_API_TOKEN';
    token = options.token!.trim();
  } else {
    return undefined;
  }
  if (token === '') throw new ApiClientConfigError(`the API token from ${source} is empty: ${TOKEN_HINT}`);
  if (!TOKEN_SHAPE.test(token)) throw new ApiClientConfigError(`the API token from ${source} is not a bearer token (a JWT): ${TOKEN_HINT}`);
  return token;
}

/** The token given for this invocation (explicitApiToken), or an error saying how to get one. */
export function resolveApiToken(options: TokenOptions): string {
  const token = explicitApiToken(options);
  if (token === undefined) throw new ApiClientConfigError(`this command calls the API as you and needs your API token: ${TOKEN_HINT}`);
  return token;
}

/** The API's base URL: api.url (PROVISIONER_API_URL), default http://127.0.0.1:<http.apiPort>. */
export function apiBaseUrl(cfg: Pick<Config, 'api' | 'http'>): string {
  const raw = cfg.api.url?.trim();
  if (!raw) return `http://127.0.0.1:${cfg.http.apiPort}`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ApiClientConfigError(`api.url (PROVISIONER_API_URL) ${raw} is not a URL; give one such as http://127.0.0.1:9467`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ApiClientConfigError(`api.url (PROVISIONER_API_URL) ${raw} must be an http:// or https:// URL`);
  if (url.username || url.password) throw new ApiClientConfigError('api.url (PROVISIONER_API_URL) must not carry credentials; the token comes from PROVISIONER_API_TOKEN or --token-file');
  return raw.replace(/\/+$/, '');
}

export type ApiClient = {
  readonly baseUrl: string;
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body?: unknown, headers?: Record<string, string>): Promise<T>;
};

export type ApiClientOptions = {
  baseUrl: string;
  /** The bearer token, or where to get it at the first call (the stored login, refreshed when near expiry). */
  token: string | (() => Promise<string>);
  /** Injected by tests. */
  fetch?: typeof fetch;
  timeoutMs?: number;
};

/** One path segment, encoded: ids from the command line never change the route. */
export const segment = (value: string): string => encodeURIComponent(value);

export function createApiClient(options: ApiClientOptions): ApiClient {
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const call = async <T>(method: 'GET' | 'POST', path: string, body: unknown, headers: Record<string, string>): Promise<T> => {
    const url = `${options.baseUrl}${path}`;
    const token = typeof options.token === 'string' ? options.token : await options.token();
    let res: Response;
    try {
      res = await doFetch(url, {
        method,
        headers: {
          accept: 'application/json',
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const why = (err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs / 1000} s` : 'connection failed';
      throw new ApiCallError(`cannot reach the API at ${options.baseUrl} (${why}); is \`provisioner api\` running? (PROVISIONER_API_URL sets another address)`, 0, 'unreachable', { cause: err });
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const { error, reason } = (json ?? {}) as { error?: unknown; reason?: unknown };
      const code = typeof reason === 'string' ? reason : `http-${res.status}`;
      const message = typeof error === 'string' ? error : `${method} ${path} answered ${res.status}`;
      const hint = res.status === 401 ? ` (${TOKEN_HINT})` : '';
      throw new ApiCallError(`${res.status} ${code}: ${message}${hint}`, res.status, code);
    }
    if (json === undefined) throw new ApiCallError(`${method} ${path} answered ${res.status} without a JSON body`, res.status, 'invalid-response');
    return json as T;
  };
  return {
    baseUrl: options.baseUrl,
    get: (path) => call('GET', path, undefined, {}),
    post: (path, body, headers = {}) => call('POST', path, body ?? {}, headers),
  };
}

/**
 * The API client for this invocation: address from the configuration; token from --token-file,
 * else PROVISIONER_API_TOKEN, else the stored login of `provisioner login` (read at the first call).
 */
export function apiClientFromConfig(
  cfg: Pick<Config, 'api' | 'http' | 'mode' | 'stack'>,
  options: { tokenFile?: string; fetch?: typeof fetch; credentialsFile?: string } = {},
): ApiClient {
  const explicit = explicitApiToken({ token: cfg.api.token, ...(options.tokenFile ? { tokenFile: options.tokenFile } : {}) });
  const stored = () => storedLoginToken(cfg, { ...(options.credentialsFile ? { file: options.credentialsFile } : {}), ...(options.fetch ? { fetch: options.fetch } : {}) });
  return createApiClient({ baseUrl: apiBaseUrl(cfg), token: explicit ?? stored, ...(options.fetch ? { fetch: options.fetch } : {}) });
}

/** The option every API-calling command takes. */
export const TOKEN_FILE_OPTION = ['--token-file <path>', 'a file holding your API bearer token (default: PROVISIONER_API_TOKEN, then your `provisioner login`)'] as const;

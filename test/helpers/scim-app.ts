// Starts a SCIM target app in the test process on a free port, with fresh random credentials, its
// logs captured as parsed JSON lines, and clients for its SCIM and admin APIs.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Agent, fetch as undiciFetch, type Dispatcher } from 'undici';
import type { Faults } from '../../targets/apps-file.js';
import { projectRoot } from '../../schemas/config.js';
import { createLogger } from '../../observability/logger.js';
import type { FaultsView } from '../../targets/faults.js';
import { startScimApp, type ScimApp, type ScimAppOptions } from '../../targets/server.js';
import type { WriteEntry } from '../../targets/write-log.js';

export type LogLine = Record<string, unknown> & { msg?: string; level?: number };

export type ScimAnswer<T = any> = { status: number; headers: Headers; body: T };

/** Client of a target app's /admin API (faults, write log, reset). */
export class AdminClient {
  constructor(
    readonly url: string,
    private readonly token: string,
    private readonly dispatcher?: Dispatcher,
  ) {}

  async #call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await undiciFetch(`${this.url}/admin${path}`, {
      ...(this.dispatcher ? { dispatcher: this.dispatcher } : {}),
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!res.ok) throw new Error(`admin ${method} ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  setFaults(faults: Faults): Promise<FaultsView> {
    return this.#call('PUT', '/faults', faults);
  }

  clearFaults(): Promise<FaultsView> {
    return this.#call('DELETE', '/faults');
  }

  faults(): Promise<FaultsView> {
    return this.#call('GET', '/faults');
  }

  async writes(query: { since?: number; limit?: number } = {}): Promise<WriteEntry[]> {
    const params = new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]));
    return (await this.#call<{ writes: WriteEntry[] }>('GET', `/writes${params.size ? `?${params}` : ''}`)).writes;
  }

  /** Rotates the app's SCIM bearer token: the old one is refused from now on; the new one is returned. */
  async rotateToken(): Promise<string> {
    return (await this.#call<{ token: string }>('POST', '/tokens/rotate')).token;
  }

  async reset(): Promise<void> {
    await this.#call('POST', '/reset');
  }
}

export type TestScimApp = ScimApp & {
  bearerToken: string;
  adminToken: string;
  oauth: { clientId: string; clientSecret: string; tokenUrl: string };
  admin: AdminClient;
  /** Every log line the app wrote, parsed. */
  logs: LogLine[];
  /** The options it was started with: start another app on the same state file with them. */
  options: ScimAppOptions;
  /** A SCIM request with the app's bearer token (or `token`), path relative to the SCIM base URL. */
  scim: <T = any>(method: string, path: string, init?: { body?: unknown; token?: string | null; headers?: Record<string, string> }) => Promise<ScimAnswer<T>>;
};

const secret = (prefix: string) => `${prefix}-${randomBytes(12).toString('base64url')}`;

/** Logs into an array of parsed JSON lines (pino writes one JSON object per line). */
function memoryLogger(lines: LogLine[]) {
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return createLogger({ level: 'debug', name: 'scim-target-test', destination });
}

export async function scimRequest<T = any>(
  scimUrl: string,
  token: string | null,
  method: string,
  path: string,
  init: { body?: unknown; headers?: Record<string, string>; dispatcher?: Dispatcher } = {},
): Promise<ScimAnswer<T>> {
  const res = await undiciFetch(`${scimUrl}${path}`, {
    method,
    ...(init.dispatcher ? { dispatcher: init.dispatcher } : {}),
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(init.body === undefined ? {} : { 'content-type': 'application/scim+json' }),
      ...init.headers,
    },
    ...(init.body === undefined ? {} : { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers as unknown as Headers, body: (text ? JSON.parse(text) : undefined) as T };
}

export type TestScimAppOptions = Partial<ScimAppOptions> & {
  /** PEM of the CA the test's own requests trust: for an app serving HTTPS with a private CA. */
  trustCa?: string;
};

/** Starts an app on 127.0.0.1 and a free port; override any option (e.g. stateFile, faults, now, tls). */
export async function startTestScimApp({ trustCa, ...overrides }: TestScimAppOptions = {}): Promise<TestScimApp> {
  const logs: LogLine[] = [];
  const dispatcher = trustCa ? new Agent({ connect: { ca: trustCa } }) : undefined;
  const adminToken = overrides.adminToken ?? secret('admin');
  const bearerToken = overrides.bearerTokens?.[0] ?? secret('bearer');
  const oauth = overrides.oauth ?? { clientId: `client-${randomBytes(4).toString('hex')}`, clientSecret: secret('client-secret'), tokenTtlSeconds: 3600 };
  const options: ScimAppOptions = {
    name: 'test-app',
    port: 0,
    host: '127.0.0.1',
    logger: memoryLogger(logs),
    ...overrides,
    adminToken,
    bearerTokens: overrides.bearerTokens ?? [bearerToken],
    oauth,
  };
  const app = await startScimApp(options);
  return {
    ...app,
    bearerToken,
    adminToken,
    oauth: { clientId: oauth.clientId, clientSecret: oauth.clientSecret, tokenUrl: `${app.url}/oauth/token` },
    admin: new AdminClient(app.url, adminToken, dispatcher),
    logs,
    options,
    scim: (method, path, init = {}) =>
      scimRequest(app.scimUrl, init.token === undefined ? bearerToken : init.token, method, path, { ...init, ...(dispatcher ? { dispatcher } : {}) }),
    close: async () => {
      await app.close();
      await dispatcher?.close();
    },
  };
}

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

export const userBody = (userName: string, extra: Record<string, unknown> = {}) => ({ schemas: [USER_SCHEMA], userName, ...extra });
export const groupBody = (displayName: string, extra: Record<string, unknown> = {}) => ({ schemas: [GROUP_SCHEMA], displayName, ...extra });
export const patchOp = (...Operations: Array<{ op: string; path?: string; value?: unknown }>) => ({ schemas: [PATCH_SCHEMA], Operations });

/** The compiled app process: `node <targetMainJs> ...` */
export const targetMainJs = path.join(projectRoot, 'dist', 'targets', 'main.js');

/** Builds dist/ (tsconfig.build.json) when dist/targets/main.js is missing or older than its sources. */
export function ensureTargetsBuilt(): void {
  ensureDistBuilt(targetMainJs, ['targets', 'schemas', 'observability', 'stack']);
}

/**
 * Builds dist/ (tsconfig.build.json) when `mainJs` is missing or older than a .ts file of
 * `sourceDirs` (folders of the project; their subfolders too when `recursive`).
 */
export function ensureDistBuilt(mainJs: string, sourceDirs: string[], options: { recursive?: boolean } = {}): void {
  const sources = sourceDirs.flatMap((d) =>
    readdirSync(path.join(projectRoot, d), { recursive: options.recursive ?? false, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')).map((f) => path.join(projectRoot, d, f)),
  );
  const fresh = () => existsSync(mainJs) && sources.every((s) => statSync(s).mtimeMs <= statSync(mainJs).mtimeMs);
  // Test files run in parallel: one builds while the others wait (mkdir is atomic).
  const lock = path.join(projectRoot, 'dist', '.targets-build.lock');
  mkdirSync(path.dirname(lock), { recursive: true });
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`waited 3 minutes for another build of dist/ (remove ${lock} if none runs)`);
      const held = statSync(lock, { throwIfNoEntry: false });
      if (held && Date.now() - held.mtimeMs > 300_000) rmSync(lock, { recursive: true, force: true }); // left by a killed run
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
  try {
    if (fresh()) return;
    const build = spawnSync(process.execPath, [path.join(projectRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], {
      cwd: projectRoot,
      encoding: 'utf8',
    });
    // tsc emits even when other parts of the project do not type-check; what matters is a fresh main.js.
    if (!fresh()) throw new Error(`could not build ${mainJs}:\n${build.stdout}${build.stderr}`);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

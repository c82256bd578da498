// The real Temporal CLI dev server (server + Web UI, SQLite), built from its Go module; for the
// secured stack (stack.secure), our own build of the Temporal server serving TLS with client
// certificates (stack/temporal-secure-server/), as the dev server has no TLS.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import protos from '@temporalio/proto';
import { msToTs } from '@temporalio/common/lib/time.js';
import { projectRoot, stackPkiDir, type Config } from '../schemas/config.js';
import { devPkiFiles } from './dev-pki.js';
import { pidFile, readLivePid, startDetached, stopByPidFile, waitFor } from './processes.js';
import { run, requireCommand, which, type Reporter } from './shell.js';
import { goProgress } from './go-progress.js';
import type { ServerStatus } from './server-status.js';
import { connectTemporal } from '../clients/temporal-connection.js';

const NAME = 'temporal';

const { temporal: proto, grpc } = protos;
/** gRPC status codes (https://grpc.github.io/grpc/core/md_doc_statuscodes.html). */
const NOT_FOUND = 5;
const ALREADY_EXISTS = 6;

/** Search attributes that make the Temporal UI useful (docs/architecture.md#search-attributes). */
export const searchAttributes: Record<string, protos.temporal.api.enums.v1.IndexedValueType> = {
  EmployeeId: proto.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  Department: proto.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  LifecycleEvent: proto.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  ProvisioningStatus: proto.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  Application: proto.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
  TicketId: proto.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  QuarantinedApplications: proto.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

/** A `temporal` binary: on PATH, else cached, else built with `go install` into the cache. */
async function obtainCli(cfg: Config, report: Reporter): Promise<string> {
  const onPath = which('temporal');
  if (onPath) {
    report(`temporal: using ${onPath} from PATH`);
    return onPath;
  }
  const bin = path.join(cfg.cacheDir, 'bin', 'temporal');
  if (existsSync(bin)) return bin;
  const go = requireCommand('go', 'Go 1.23+ (https://go.dev/doc/install; Debian: apt-get install -y golang), or put a `temporal` CLI on PATH, or set TEMPORAL_ADDRESS to a running server, or use `docker compose up`');
  report(`temporal: building the Temporal CLI ${cfg.temporal.cliVersion} with go install (about 200 modules; minutes on two cores)...`);
  mkdirSync(path.dirname(bin), { recursive: true });
  await run(go, ['install', `github.com/temporalio/cli/cmd/temporal@${cfg.temporal.cliVersion}`], {
    env: { ...process.env, GOBIN: path.dirname(bin), CGO_ENABLED: '0' },
    logFile: path.join(cfg.dataDir, 'logs', 'temporal-build.log'),
    onLine: goProgress(report, NAME),
  });
  report(`temporal: built ${bin}`);
  return bin;
}

async function connect(cfg: Config): Promise<Connection> {
  return connectTemporal(cfg, { connectTimeout: 1500 });
}

/** The server answers (any namespace); with `namespace`, also that cfg.temporal.namespace exists. */
async function serving(cfg: Config, options: { namespace: boolean }): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    connection = await connect(cfg);
    const res = await connection.healthService.check({});
    if (res.status !== grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING) return false;
    if (options.namespace) await connection.workflowService.describeNamespace({ namespace: cfg.temporal.namespace });
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

export const temporalHealthy = (cfg: Config): Promise<boolean> => serving(cfg, { namespace: true });

/**
 * Registers cfg.temporal.namespace when the server lacks it (a second pipeline beside another takes
 * its own namespace, as workflow ids are unique per namespace). Returns whether it registered it.
 */
export async function ensureNamespace(cfg: Config): Promise<boolean> {
  const connection = await connect(cfg);
  try {
    try {
      await connection.workflowService.describeNamespace({ namespace: cfg.temporal.namespace });
      return false;
    } catch (err) {
      if ((err as { code?: number }).code !== NOT_FOUND) throw err;
    }
    try {
      await connection.workflowService.registerNamespace({
        namespace: cfg.temporal.namespace,
        description: 'provisioner (registered by `provisioner stack up`)',
        workflowExecutionRetentionPeriod: msToTs('3 days'),
      });
    } catch (err) {
      // Another process registered it meanwhile.
      if ((err as { code?: number }).code !== ALREADY_EXISTS) throw err;
    }
    return true;
  } finally {
    await connection.close();
  }
}

/** Registers our search attributes where they are missing (idempotent). */
export async function ensureSearchAttributes(cfg: Config): Promise<string[]> {
  const connection = await connect(cfg);
  try {
    const existing = await connection.operatorService.listSearchAttributes({ namespace: cfg.temporal.namespace });
    const have = new Set(Object.keys(existing.customAttributes ?? {}));
    const missing = Object.fromEntries(Object.entries(searchAttributes).filter(([name]) => !have.has(name)));
    if (Object.keys(missing).length > 0) {
      await connection.operatorService.addSearchAttributes({ namespace: cfg.temporal.namespace, searchAttributes: missing });
    }
    return Object.keys(missing);
  } finally {
    await connection.close();
  }
}

export function temporalUiUrl(cfg: Config): string {
  const host = cfg.temporal.address.split(':')[0];
  return `http://${host}:${cfg.temporal.uiPort}`;
}

/** The dev server's flags that make the server behave as the workflows expect (both servers take them). */
export const DYNAMIC_CONFIG = [
  'frontend.enableUpdateWorkflowExecution=true',
  'frontend.workerVersioningWorkflowAPIs=true',
  // Task queue priority (leavers' disables before their revokes on the urgent queues,
  // workflows/apply-plan.ts): server 1.29 matches by priority only with the new matcher,
  // off by default there (on by default in later servers, temporalio/temporal#9595).
  'matching.useNewMatcher=true',
];
/** The dev server's SQLite: write-ahead log, fewer syncs (docker-compose.yml passes the same). */
export const SQLITE_PRAGMAS = ['journal_mode=WAL', 'synchronous=NORMAL'];
const flags = (name: string, values: string[]) => values.flatMap((v) => [name, v]);

/** The API's codec endpoint, for the local UI: api.url, else the API's port on loopback (none when the port is picked at random). */
export function uiCodecEndpoint(cfg: Config): string | undefined {
  const base = cfg.api.url ?? (cfg.http.apiPort ? `http://127.0.0.1:${cfg.http.apiPort}` : undefined);
  return base ? `${base.replace(/\/+$/, '')}/codec` : undefined;
}

/** The plain dev server: Temporal CLI `server start-dev` with the Web UI. */
async function startDevServer(cfg: Config, report: Reporter, dir: string): Promise<ReturnType<typeof startDetached>> {
  const cli = await obtainCli(cfg, report);
  const [host, port] = cfg.temporal.address.split(':');
  const proc = startDetached({
    runDir: cfg.dataDir,
    name: NAME,
    command: cli,
    args: [
      'server', 'start-dev',
      '--ip', host!, '--port', port!, '--ui-port', String(cfg.temporal.uiPort),
      // The UI decodes payloads through the API's codec endpoint (api/server.ts: without a token
      // for this loopback UI in development mode), so the demo's workflows read in clear there.
      ...(uiCodecEndpoint(cfg) ? ['--ui-codec-endpoint', uiCodecEndpoint(cfg)!] : []),
      '--namespace', cfg.temporal.namespace,
      '--db-filename', path.join(dir, 'temporal.db'),
      ...flags('--sqlite-pragma', SQLITE_PRAGMAS),
      ...flags('--dynamic-config-value', DYNAMIC_CONFIG),
      '--log-format', 'json', '--log-level', 'warn',
    ],
  });
  report(`temporal: starting the dev server (pid ${proc.pid}, log ${proc.logFile})`);
  return proc;
}

const SECURE_SERVER_SOURCE = path.join(projectRoot, 'stack', 'temporal-secure-server');

/**
 * The secured server's binary: `<cacheDir>/bin/temporal-secure-server-<hash of its sources>`, built
 * with `go build` when missing (a changed main.go or go.mod is a new name, so a new build).
 */
export async function obtainSecureServer(cfg: Config, report: Reporter): Promise<string> {
  const hash = createHash('sha256');
  for (const f of ['main.go', 'go.mod', 'go.sum']) hash.update(readFileSync(path.join(SECURE_SERVER_SOURCE, f)));
  const bin = path.join(cfg.cacheDir, 'bin', `temporal-secure-server-${hash.digest('hex').slice(0, 12)}`);
  if (existsSync(bin)) return bin;
  const go = requireCommand('go', 'Go 1.25+ (https://go.dev/doc/install; Debian: apt-get install -y golang): the secured stack builds its Temporal server from stack/temporal-secure-server');
  report('temporal: building the secured Temporal server (go.temporal.io/server, stack/temporal-secure-server) with go build (minutes on two cores the first time)...');
  mkdirSync(path.dirname(bin), { recursive: true });
  const started = Date.now();
  const tmp = `${bin}.${process.pid}`;
  await run(go, ['build', '-o', tmp, '.'], {
    cwd: SECURE_SERVER_SOURCE,
    env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=mod' },
    logFile: path.join(cfg.dataDir, 'logs', 'temporal-secure-build.log'),
    onLine: goProgress(report, NAME),
  });
  renameSync(tmp, bin);
  report(`temporal: built ${bin} in ${Math.round((Date.now() - started) / 1000)} s`);
  return bin;
}

/** The secured server: TLS on every listener, client certificates from the stack's development CA required. */
async function startSecureServer(cfg: Config, report: Reporter, dir: string): Promise<ReturnType<typeof startDetached>> {
  if (!cfg.temporal.tls?.certFile) {
    throw new Error(`temporal: the secured stack requires client certificates, and temporal.tls has none; set temporal.tls.caFile, certFile, keyFile and serverName as examples/secure-stack.yaml does`);
  }
  const server = await obtainSecureServer(cfg, report);
  const pki = devPkiFiles(stackPkiDir(cfg));
  const [host, port] = cfg.temporal.address.split(':');
  const ip = host === 'localhost' ? '127.0.0.1' : host!;
  const proc = startDetached({
    runDir: cfg.dataDir,
    name: NAME,
    command: server,
    args: [
      '-ip', ip, '-port', port!,
      '-namespace', cfg.temporal.namespace,
      '-db-filename', path.join(dir, 'temporal.db'),
      '-tls-ca', pki.caFile, '-tls-cert', pki.certFile, '-tls-key', pki.keyFile,
      // The system worker presents the server's own certificate: the clients' is the CA's client one.
      '-tls-worker-cert', pki.certFile, '-tls-worker-key', pki.keyFile,
      '-tls-server-name', 'localhost',
      // The same API key file the clients read, when one is configured (as Temporal Cloud asks for one).
      ...(cfg.temporal.apiKeyFile ? ['-api-key-file', cfg.temporal.apiKeyFile] : []),
      ...flags('-sqlite-pragma', SQLITE_PRAGMAS),
      ...flags('-dynamic-config-value', DYNAMIC_CONFIG),
      '-log-level', 'warn',
    ],
  });
  const apiKey = cfg.temporal.apiKeyFile ? ` and the API key in ${cfg.temporal.apiKeyFile}` : '';
  report(`temporal: starting the secured server, TLS with client certificates of ${pki.caFile}${apiKey} (pid ${proc.pid}, log ${proc.logFile})`);
  return proc;
}

export async function temporalUp(cfg: Config, report: Reporter): Promise<void> {
  const start = async () => {
    const dir = path.join(cfg.dataDir, NAME);
    mkdirSync(dir, { recursive: true });
    const proc = cfg.stack.secure ? await startSecureServer(cfg, report, dir) : await startDevServer(cfg, report, dir);
    // A first start on a busy machine (a fresh binary, a new SQLite file, every core taken by a
    // build) took more than 90 s here; a crash still ends the wait at once (`alive`).
    await waitFor('temporal', () => temporalHealthy(cfg), { timeoutMs: 180_000, intervalMs: 500, alive: () => readLivePid(pidFile(cfg.dataDir, NAME)) !== undefined, logFile: proc.logFile });
  };
  if (await serving(cfg, { namespace: false })) {
    report(`temporal: reusing the healthy server at ${cfg.temporal.address}`);
    try {
      if (await ensureNamespace(cfg)) report(`temporal: registered the namespace ${cfg.temporal.namespace}`);
    } catch (err) {
      // The dev server's SQLite can wedge after hours of heavy load (every call "interrupted (9)"
      // until it restarts; seen twice at load ~20): a server the project started is restarted on its file.
      if (cfg.temporal.external || readLivePid(pidFile(cfg.dataDir, NAME)) === undefined) throw err;
      report(`temporal: the server answers but its store does not (${(err as Error).message.split('\n')[0]}): restarting it`);
      await temporalDown(cfg);
      await start();
    }
  } else if (cfg.temporal.external) {
    throw new Error(`temporal: TEMPORAL_ADDRESS=${cfg.temporal.address} is not reachable; start that server or unset TEMPORAL_ADDRESS`);
  } else {
    await start();
  }
  // A namespace registered just now may take a few seconds to reach every server component.
  let added: string[] = [];
  await waitFor(`temporal namespace ${cfg.temporal.namespace}`, async () => ((added = await ensureSearchAttributes(cfg)), true), { timeoutMs: 30_000, intervalMs: 1000 });
  const where = cfg.stack.secure ? 'TLS with client certificates, no Web UI' : `Web UI ${temporalUiUrl(cfg)}`;
  report(`temporal: listening on ${cfg.temporal.address}, ${where}; search attributes ${added.length > 0 ? `registered: ${added.join(', ')}` : 'present'}`);
}

export async function temporalDown(cfg: Config): Promise<boolean> {
  return stopByPidFile(pidFile(cfg.dataDir, NAME), 20_000);
}

export async function temporalStatus(cfg: Config): Promise<ServerStatus> {
  return {
    name: NAME,
    where: cfg.stack.secure ? `${cfg.temporal.address} (TLS, client certificates)` : `${cfg.temporal.address} (UI ${temporalUiUrl(cfg)})`,
    managed: !cfg.temporal.external,
    pid: readLivePid(pidFile(cfg.dataDir, NAME)),
    healthy: await temporalHealthy(cfg),
  };
}

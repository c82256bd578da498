// The real Temporal CLI dev server (server + Web UI, SQLite), built from its Go module.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import protos from '@temporalio/proto';
import { msToTs } from '@temporalio/common/lib/time.js';
import type { Config } from '../schemas/config.js';
import { pidFile, readLivePid, startDetached, stopByPidFile, waitFor } from './processes.js';
import { run, requireCommand, which, type Reporter } from './shell.js';
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
  let modules = 0;
  await run(go, ['install', `github.com/temporalio/cli/cmd/temporal@${cfg.temporal.cliVersion}`], {
    env: { ...process.env, GOBIN: path.dirname(bin), CGO_ENABLED: '0' },
    logFile: path.join(cfg.dataDir, 'logs', 'temporal-build.log'),
    onLine: (line) => {
      if (line.startsWith('go: downloading')) {
        modules += 1;
        if (modules % 25 === 0) report(`temporal: ${modules} Go modules downloaded...`);
      } else if (/verifying|SECURITY|checksum/i.test(line)) {
        report(`temporal: ${line} (the Go checksum database must be reachable; it is not disabled)`);
      }
    },
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

export async function temporalUp(cfg: Config, report: Reporter): Promise<void> {
  if (await serving(cfg, { namespace: false })) {
    report(`temporal: reusing the healthy server at ${cfg.temporal.address}`);
    if (await ensureNamespace(cfg)) report(`temporal: registered the namespace ${cfg.temporal.namespace}`);
  } else if (cfg.temporal.external) {
    throw new Error(`temporal: TEMPORAL_ADDRESS=${cfg.temporal.address} is not reachable; start that server or unset TEMPORAL_ADDRESS`);
  } else {
    const cli = await obtainCli(cfg, report);
    const dir = path.join(cfg.dataDir, NAME);
    mkdirSync(dir, { recursive: true });
    const [host, port] = cfg.temporal.address.split(':');
    const proc = startDetached({
      runDir: cfg.dataDir,
      name: NAME,
      command: cli,
      args: [
        'server', 'start-dev',
        '--ip', host!, '--port', port!, '--ui-port', String(cfg.temporal.uiPort),
        '--namespace', cfg.temporal.namespace,
        '--db-filename', path.join(dir, 'temporal.db'),
        '--sqlite-pragma', 'journal_mode=WAL', '--sqlite-pragma', 'synchronous=NORMAL',
        '--dynamic-config-value', 'frontend.enableUpdateWorkflowExecution=true',
        '--dynamic-config-value', 'frontend.workerVersioningWorkflowAPIs=true',
        // Task queue priority (leavers' disables before their revokes on the urgent queues,
        // workflows/apply-plan.ts): server 1.29 matches by priority only with the new matcher,
        // off by default there (on by default in later servers, temporalio/temporal#9595).
        '--dynamic-config-value', 'matching.useNewMatcher=true',
        '--log-format', 'json', '--log-level', 'warn',
      ],
    });
    report(`temporal: starting the dev server (pid ${proc.pid}, log ${proc.logFile})`);
    // A first start on a busy machine (a fresh binary, a new SQLite file, every core taken by a
    // build) took more than 90 s here; a crash still ends the wait at once (`alive`).
    await waitFor('temporal', () => temporalHealthy(cfg), { timeoutMs: 180_000, intervalMs: 500, alive: () => readLivePid(pidFile(cfg.dataDir, NAME)) !== undefined, logFile: proc.logFile });
  }
  // A namespace registered just now may take a few seconds to reach every server component.
  let added: string[] = [];
  await waitFor(`temporal namespace ${cfg.temporal.namespace}`, async () => ((added = await ensureSearchAttributes(cfg)), true), { timeoutMs: 30_000, intervalMs: 1000 });
  report(`temporal: listening on ${cfg.temporal.address}, Web UI ${temporalUiUrl(cfg)}; search attributes ${added.length > 0 ? `registered: ${added.join(', ')}` : 'present'}`);
}

export async function temporalDown(cfg: Config): Promise<boolean> {
  return stopByPidFile(pidFile(cfg.dataDir, NAME), 20_000);
}

export async function temporalStatus(cfg: Config): Promise<ServerStatus> {
  return {
    name: NAME,
    where: `${cfg.temporal.address} (UI ${temporalUiUrl(cfg)})`,
    managed: !cfg.temporal.external,
    pid: readLivePid(pidFile(cfg.dataDir, NAME)),
    healthy: await temporalHealthy(cfg),
  };
}

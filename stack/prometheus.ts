// The local Prometheus (github.com/prometheus/prometheus, built from its Go module like the Temporal
// CLI): on 127.0.0.1:<stack.prometheusPort>, its data under <dataDir>/prometheus, its configuration
// generated (stack/prometheus-config.ts): it scrapes the provisioner processes of this machine
// (stack/prometheus-targets.ts) and evaluates ops/prometheus/provisioner-alerts.yml. A `go install`
// build has no web UI (its assets are built with npm and embedded only with the `builtinassets` tag):
// the HTTP API at /api/v1 is what the bench and the tests use.
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../schemas/config.js';
import { flagsData, prometheusApi } from '../observability/prometheus-query.js';
import { buildHeartbeat, goProgress } from './go-progress.js';
import { prometheusConfig } from './prometheus-config.js';
import { pruneDeadTargets, prometheusTargetsDir } from './prometheus-targets.js';
import { pidFile, readLivePid, startDetached, stopByPidFile, waitFor } from './processes.js';
import { requireCommand, run, which, type Reporter } from './shell.js';
import type { ServerStatus } from './server-status.js';

const NAME = 'prometheus';

export function prometheusUrl(cfg: Config): string {
  return `http://127.0.0.1:${cfg.stack.prometheusPort}`;
}

const dirOf = (cfg: Config) => path.join(cfg.dataDir, NAME);
export const prometheusConfigFile = (cfg: Config): string => path.join(dirOf(cfg), 'prometheus.yml');
type Tool = 'prometheus' | 'promtool';
const cachedBinary = (cfg: Config, tool: Tool = NAME) => path.join(cfg.cacheDir, 'bin', `${tool}-${cfg.stack.prometheusVersion}`);

/** A `prometheus` (or `promtool`) binary that needs no build: on PATH, else the cached build; undefined when it must be built. */
export function prometheusBinary(cfg: Config, tool: Tool = NAME): string | undefined {
  return which(tool) ?? (existsSync(cachedBinary(cfg, tool)) ? cachedBinary(cfg, tool) : undefined);
}

/**
 * A `prometheus` (or `promtool`) binary: on PATH, else cached, else built with `go install` into the
 * cache. One build makes both (they share nearly every package): the stack runs the server, the test
 * suite and `npm run check:ops` check the alert rules with promtool.
 */
export async function obtainPrometheus(cfg: Config, report: Reporter, tool: Tool = NAME): Promise<string> {
  const found = prometheusBinary(cfg, tool);
  if (found) {
    if (found !== cachedBinary(cfg, tool)) report(`${tool}: using ${found} from PATH`);
    return found;
  }
  const go = requireCommand('go', `Go 1.25+ (https://go.dev/doc/install; Debian: apt-get install -y golang), or put a \`${tool}\` binary on PATH`);
  const version = cfg.stack.prometheusVersion;
  const tools: Tool[] = ['prometheus', 'promtool'];
  report(`${tool}: building Prometheus and promtool ${version} with go install (once, cached in ${path.dirname(cachedBinary(cfg))}; about 300 modules, several minutes on two cores)...`);
  mkdirSync(path.dirname(cachedBinary(cfg)), { recursive: true });
  // Built into a folder of its own, then renamed: a build interrupted half-way never looks cached.
  const gobin = `${cachedBinary(cfg)}.build-${process.pid}`;
  const started = Date.now();
  const stopHeartbeat = buildHeartbeat(report, tool);
  try {
    await run(go, ['install', ...tools.map((t) => `github.com/prometheus/prometheus/cmd/${t}@${version}`)], {
      env: { ...process.env, GOBIN: gobin, CGO_ENABLED: '0' },
      logFile: path.join(cfg.dataDir, 'logs', 'prometheus-build.log'),
      onLine: goProgress(report, tool),
    });
    for (const t of tools) renameSync(path.join(gobin, t), cachedBinary(cfg, t));
  } finally {
    stopHeartbeat();
    rmSync(gobin, { recursive: true, force: true });
  }
  report(`${tool}: built ${tools.map((t) => cachedBinary(cfg, t)).join(' and ')} in ${Math.round((Date.now() - started) / 1000)} s`);
  return cachedBinary(cfg, tool);
}

/** Ready (`/-/ready` answers 200). */
export async function prometheusHealthy(cfg: Config): Promise<boolean> {
  try {
    const res = await fetch(`${prometheusUrl(cfg)}/-/ready`, { signal: AbortSignal.timeout(1500) });
    return res.ok;
  } catch {
    return false;
  }
}

/** The configuration file the Prometheus on our port runs with, when one answers there. */
async function runningConfigFile(cfg: Config): Promise<string | undefined> {
  try {
    return (await prometheusApi(prometheusUrl(cfg), 'status/flags', {}, flagsData, 1500))['config.file'];
  } catch {
    return undefined;
  }
}

export async function prometheusUp(cfg: Config, report: Reporter): Promise<void> {
  const url = prometheusUrl(cfg);
  const configFile = prometheusConfigFile(cfg);
  // The targets of processes that died without draining go first, also when the server is reused.
  mkdirSync(prometheusTargetsDir(cfg.dataDir), { recursive: true });
  const pruned = pruneDeadTargets(cfg.dataDir);
  if (pruned.length > 0) report(`prometheus: removed the targets of processes that are gone: ${pruned.join(', ')}`);
  if (await prometheusHealthy(cfg)) {
    const running = await runningConfigFile(cfg);
    if (running !== configFile) {
      throw new Error(`prometheus: another Prometheus answers at ${url} (configuration ${running ?? 'unknown'}); stop it, or give stack.prometheusPort (PROVISIONER_PROMETHEUS_PORT) another port`);
    }
    report(`prometheus: reusing the healthy server at ${url}`);
    return;
  }
  const bin = await obtainPrometheus(cfg, report);
  writeFileSync(configFile, prometheusConfig({ dataDir: cfg.dataDir, port: cfg.stack.prometheusPort }));
  const proc = startDetached({
    runDir: cfg.dataDir,
    name: NAME,
    command: bin,
    args: [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${path.join(dirOf(cfg), 'data')}`,
      // Local runs, not a history: two days keep a day's demo and bench runs.
      '--storage.tsdb.retention.time=2d',
      `--web.listen-address=127.0.0.1:${cfg.stack.prometheusPort}`,
      '--log.level=warn',
    ],
  });
  report(`prometheus: starting (pid ${proc.pid}, log ${proc.logFile})`);
  await waitFor(NAME, () => prometheusHealthy(cfg), { timeoutMs: 60_000, intervalMs: 250, alive: () => readLivePid(pidFile(cfg.dataDir, NAME)) !== undefined, logFile: proc.logFile });
  report(`prometheus: listening on ${url} (HTTP API ${url}/api/v1; a go-install build has no web UI), scraping the processes in ${prometheusTargetsDir(cfg.dataDir)} every 5 s`);
}

export async function prometheusDown(cfg: Config): Promise<boolean> {
  return stopByPidFile(pidFile(cfg.dataDir, NAME), 10_000);
}

/** Whether `stack up` starts it: the setting, or a Prometheus the project started that still runs. */
export function prometheusWanted(cfg: Config): boolean {
  return cfg.stack.prometheus || readLivePid(pidFile(cfg.dataDir, NAME)) !== undefined;
}

export async function prometheusStatus(cfg: Config): Promise<ServerStatus> {
  return {
    name: NAME,
    where: `${prometheusUrl(cfg)} (HTTP API /api/v1)`,
    managed: true,
    pid: readLivePid(pidFile(cfg.dataDir, NAME)),
    healthy: await prometheusHealthy(cfg),
  };
}

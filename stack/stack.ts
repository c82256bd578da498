// `provisioner stack up | down | status`: the local Kafka (one broker, or with more than one
// configured a cluster: `--cluster`), Temporal, PostgreSQL, slapd and, on the plain stack, the
// development IdP; Prometheus when asked for (stack.prometheus, or named).
import { stackPkiDir, type Config } from '../schemas/config.js';
import { ensureDevPki } from './dev-pki.js';
import { kafkaDown, kafkaStatus, kafkaUp } from './kafka.js';
import { isLocalKafkaCluster, kafkaClusterDown, kafkaClusterStatus, kafkaClusterUp } from './kafka-cluster.js';
import { postgresDown, postgresStatus, postgresUp } from './postgres.js';
import { slapdDown, slapdStatus, slapdUp } from './slapd.js';
import { temporalDown, temporalStatus, temporalUp } from './temporal.js';
import { which, type Reporter } from './shell.js';
import { installDebianPackages } from './debian-packages.js';
import { idpDown, idpStatus, idpUp } from './idp.js';
import { prometheusDown, prometheusStatus, prometheusUp, prometheusWanted } from './prometheus.js';
import type { ServerStatus } from './server-status.js';

const servers = [
  {
    name: 'kafka',
    up: (cfg: Config, report: Reporter) => (isLocalKafkaCluster(cfg) ? kafkaClusterUp(cfg, report) : kafkaUp(cfg, report)),
    down: (cfg: Config) => (isLocalKafkaCluster(cfg) ? kafkaClusterDown(cfg) : kafkaDown(cfg)),
    status: (cfg: Config) => (isLocalKafkaCluster(cfg) ? kafkaClusterStatus(cfg) : kafkaStatus(cfg)),
  },
  { name: 'temporal', up: temporalUp, down: temporalDown, status: temporalStatus },
  { name: 'postgres', up: postgresUp, down: postgresDown, status: postgresStatus },
  { name: 'slapd', up: slapdUp, down: slapdDown, status: slapdStatus },
  // The organisation's identity provider stands in for the plain stack only (stack/dev-idp/).
  { name: 'idp', up: idpUp, down: idpDown, status: idpStatus, plainOnly: true },
  // Its first build takes minutes: started when stack.prometheus is set, when named, or when it already runs.
  { name: 'prometheus', up: prometheusUp, down: prometheusDown, status: prometheusStatus, optIn: true },
] as const;

export type ServerName = (typeof servers)[number]['name'];

/** The servers a command acts on: those named, else all but an opt-in one that is not wanted (`down` stops every one). */
function pick(cfg: Config, only?: readonly ServerName[], everyOptIn = false) {
  const ours = servers.filter((s) => !(cfg.stack.secure && 'plainOnly' in s));
  if (only && only.length > 0) return ours.filter((s) => only.includes(s.name));
  return ours.filter((s) => !('optIn' in s) || everyOptIn || prometheusWanted(cfg));
}

/** Starts (or reuses) every server, in parallel; fails naming each server that could not start. */
export async function stackUp(cfg: Config, report: Reporter, only?: readonly ServerName[]): Promise<void> {
  if (cfg.stack.secure) {
    if (!which('openssl')) await installDebianPackages(['openssl'], 'the openssl CLI (it makes the development CA)', report);
    const pki = ensureDevPki(stackPkiDir(cfg));
    report(`stack: secured with the development CA ${pki.caFile} (never for production)`);
  }
  const chosen = pick(cfg, only);
  const results = await Promise.allSettled(chosen.map((s) => s.up(cfg, report)));
  const failures = results.flatMap((r, i) => {
    if (r.status === 'fulfilled') return [];
    const name = chosen[i]!.name;
    const message = ((r.reason as Error).message ?? String(r.reason)).split('\n').map((l) => l.trim()).filter(Boolean).join('; ');
    return [message.startsWith(`${name}:`) ? message : `${name}: ${message}`];
  });
  // One line: each failed server with its reason and, where it has one, its log file.
  if (failures.length > 0) throw new Error(`stack up failed: ${failures.join('; ')}`);
}

/** Stops what the project started, by the PIDs it recorded; servers given by the user are left alone. */
export async function stackDown(cfg: Config, report: Reporter, only?: readonly ServerName[]): Promise<void> {
  await Promise.all(
    pick(cfg, only, true).map(async (s) => {
      const stopped = await s.down(cfg);
      report(`${s.name}: ${stopped ? 'stopped' : 'was not running (started by the project)'}`);
    }),
  );
}

/** One row per server; a local Kafka cluster has one per node. */
export async function stackStatus(cfg: Config, only?: readonly ServerName[]): Promise<ServerStatus[]> {
  return (await Promise.all(pick(cfg, only).map((s): Promise<ServerStatus | ServerStatus[]> => s.status(cfg)))).flat();
}

export function formatStatus(rows: ServerStatus[]): string {
  return rows
    .map((r) => {
      const who = r.managed ? (r.pid ? `pid ${r.pid}` : 'not running') : 'external';
      return `${r.name.padEnd(10)} ${(r.healthy ? 'healthy' : 'DOWN').padEnd(8)} ${who.padEnd(12)} ${r.where}`;
    })
    .join('\n');
}

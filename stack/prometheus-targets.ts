// The local Prometheus's scrape targets (stack/prometheus.ts): each provisioner process of this
// machine writes a small file_sd file naming its /metrics address when it starts and removes it
// when it drains, so Prometheus finds a worker, an ingress, `dev` or the bench on whatever port it
// took. A file whose process died without draining is pruned when the stack's Prometheus starts.
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isAlive } from './processes.js';

/** The folder Prometheus's file_sd_configs read (<dataDir>/prometheus/targets). */
export function prometheusTargetsDir(dataDir: string): string {
  return path.join(dataDir, 'prometheus', 'targets');
}

/** One file_sd group: the address to scrape and the labels every series from it gets. */
export type ScrapeTarget = { targets: string[]; labels: Record<string, string> };

/** The file a process's target lives in: its name and PID (`worker-1234.json`), so a dead one can be told. */
function targetFile(dataDir: string, processName: string, pid: number): string {
  return path.join(prometheusTargetsDir(dataDir), `${processName}-${pid}.json`);
}

export function scrapeTarget(options: { processName: string; host: string; port: number; labels?: Record<string, string> }): ScrapeTarget {
  // A wildcard listen address is scraped on loopback.
  const host = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  return { targets: [`${host.includes(':') ? `[${host}]` : host}:${options.port}`], labels: { ...options.labels, process: options.processName } };
}

/**
 * Registers this process's /metrics with the local Prometheus (whether or not one runs: a
 * Prometheus started later finds it). Returns the function that removes it, for the drain.
 */
export function registerScrapeTarget(dataDir: string, options: { processName: string; host: string; port: number; pid?: number; labels?: Record<string, string> }): () => void {
  const pid = options.pid ?? process.pid;
  const file = targetFile(dataDir, options.processName, pid);
  mkdirSync(path.dirname(file), { recursive: true });
  // Written whole then renamed: Prometheus watches the folder and must never read half a file.
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, `${JSON.stringify([scrapeTarget(options)], null, 2)}\n`);
  renameSync(tmp, file);
  // This one's goes on its drain, and on any exit (a crash that calls process.exit); those of
  // processes SIGKILLed go at the next `stack up prometheus`.
  const remove = () => rmSync(file, { force: true });
  process.once('exit', remove);
  return () => {
    process.off('exit', remove);
    remove();
  };
}

/** Removes the target files of processes that are gone (killed before they drained). Returns their names. */
export function pruneDeadTargets(dataDir: string, alive: (pid: number) => boolean = isAlive): string[] {
  const dir = prometheusTargetsDir(dataDir);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((name) => {
    const pid = /-(\d+)\.json(\.tmp)?$/.exec(name)?.[1];
    if (pid === undefined || alive(Number(pid))) return false;
    rmSync(path.join(dir, name), { force: true });
    return true;
  });
}

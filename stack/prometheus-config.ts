// The local Prometheus's configuration file (stack/prometheus.ts), generated: it scrapes every
// provisioner process registered in the targets folder (stack/prometheus-targets.ts) every 5 s and
// evaluates the repository's alert rules (ops/prometheus/provisioner-alerts.yml) as they are.
import path from 'node:path';
import { stringify } from 'yaml';
import { projectRoot } from '../schemas/config.js';
import { prometheusTargetsDir } from './prometheus-targets.js';

/** The alert rules Prometheus loads, from the checkout (edit them and restart: `stack down prometheus`, `stack up prometheus`). */
export const ALERT_RULES_FILE = path.join(projectRoot, 'ops', 'prometheus', 'provisioner-alerts.yml');

/** Short for a local machine: a bench run of a minute still gets a dozen samples per series. */
export const SCRAPE_INTERVAL_SECONDS = 5;

/** The job every provisioner process's series carry (the alert rules' `up{job=~"provisioner.*"}`). */
export const PROVISIONER_JOB = 'provisioner';

export function prometheusConfig(options: { dataDir: string; port: number; rulesFile?: string }): string {
  const interval = `${SCRAPE_INTERVAL_SECONDS}s`;
  return stringify({
    global: { scrape_interval: interval, evaluation_interval: interval },
    rule_files: [options.rulesFile ?? ALERT_RULES_FILE],
    scrape_configs: [
      {
        job_name: PROVISIONER_JOB,
        // A file per process, written on start and removed on drain; the folder is watched, and re-read every interval.
        file_sd_configs: [{ files: [path.join(prometheusTargetsDir(options.dataDir), '*.json')], refresh_interval: interval }],
      },
      { job_name: 'prometheus', static_configs: [{ targets: [`127.0.0.1:${options.port}`] }] },
    ],
  });
}

// The local Prometheus's generated configuration and the scrape target files the processes write.
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ALERT_RULES_FILE, prometheusConfig } from '../../stack/prometheus-config.js';
import { pruneDeadTargets, prometheusTargetsDir, registerScrapeTarget, scrapeTarget } from '../../stack/prometheus-targets.js';

describe('the local Prometheus configuration', () => {
  it('scrapes the target files under the data folder every 5 s and loads the repository alert rules', () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'prom-config-'));
    const cfg = parse(prometheusConfig({ dataDir, port: 9191 }));
    expect(cfg.global).toEqual({ scrape_interval: '5s', evaluation_interval: '5s' });
    expect(cfg.rule_files).toEqual([ALERT_RULES_FILE]);
    expect(existsSync(ALERT_RULES_FILE)).toBe(true);
    const [provisioner, self] = cfg.scrape_configs;
    // The alert rules' `up{job=~"provisioner.*"}` must match the job.
    expect(provisioner.job_name).toMatch(/^provisioner/);
    expect(provisioner.file_sd_configs).toEqual([{ files: [path.join(dataDir, 'prometheus', 'targets', '*.json')], refresh_interval: '5s' }]);
    expect(self).toEqual({ job_name: 'prometheus', static_configs: [{ targets: ['127.0.0.1:9191'] }] });
  });
});

describe('scrape target files', () => {
  it('writes one file_sd file per process, found by the configuration glob, and removes it on drain', () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'prom-targets-'));
    const unregister = registerScrapeTarget(dataDir, { processName: 'worker', host: '127.0.0.1', port: 9464, pid: 4242 });
    const dir = prometheusTargetsDir(dataDir);
    expect(readdirSync(dir)).toEqual(['worker-4242.json']);
    expect(JSON.parse(readFileSync(path.join(dir, 'worker-4242.json'), 'utf8'))).toEqual([{ targets: ['127.0.0.1:9464'], labels: { process: 'worker' } }]);
    unregister();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('scrapes a wildcard listen address on loopback and brackets IPv6', () => {
    expect(scrapeTarget({ processName: 'dev', host: '0.0.0.0', port: 1 }).targets).toEqual(['127.0.0.1:1']);
    expect(scrapeTarget({ processName: 'dev', host: '::1', port: 2 }).targets).toEqual(['[::1]:2']);
  });

  it('prunes the files of processes that are gone, and keeps the live ones and other files', () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'prom-prune-'));
    registerScrapeTarget(dataDir, { processName: 'worker', host: '127.0.0.1', port: 1, pid: 100 });
    registerScrapeTarget(dataDir, { processName: 'ingress', host: '127.0.0.1', port: 2, pid: 200 });
    writeFileSync(path.join(prometheusTargetsDir(dataDir), 'mine.json'), '[]');
    expect(pruneDeadTargets(dataDir, (pid) => pid === 200)).toEqual(['worker-100.json']);
    expect(readdirSync(prometheusTargetsDir(dataDir)).sort()).toEqual(['ingress-200.json', 'mine.json']);
    expect(pruneDeadTargets(mkdtempSync(path.join(tmpdir(), 'prom-none-')))).toEqual([]);
  });
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, databaseUrl, loadConfig } from '../../schemas/config.js';

const root = mkdtempSync(path.join(tmpdir(), 'provisioner-config-'));

describe('configuration', () => {
  it('has working defaults for the local stack when nothing is set', () => {
    const cfg = loadConfig({ env: {}, root });
    expect(cfg.kafka.brokers).toEqual(['127.0.0.1:9092']);
    expect(cfg.kafka.partitions).toBe(6);
    expect(cfg.kafka.external).toBe(false);
    expect(cfg.temporal.address).toBe('127.0.0.1:7233');
    expect(cfg.dataDir).toBe(path.join(root, '.provisioner'));
    expect(databaseUrl(cfg)).toBe('postgres://postgres@127.0.0.1:15432/provisioner');
  });

  it('takes servers the user already runs from the environment and marks them external', () => {
    const cfg = loadConfig({ env: { KAFKA_BROKERS: 'k1:9092, k2:9092', TEMPORAL_ADDRESS: 't:7233', DATABASE_URL: 'postgres://u@db:5432/x', KAFKA_PARTITIONS: '12' }, root });
    expect(cfg.kafka.brokers).toEqual(['k1:9092', 'k2:9092']);
    expect(cfg.kafka.external).toBe(true);
    expect(cfg.kafka.partitions).toBe(12);
    expect(cfg.temporal.external).toBe(true);
    expect(databaseUrl(cfg)).toBe('postgres://u@db:5432/x');
  });

  it('reads a YAML config file, and the environment overrides it', () => {
    const file = path.join(root, 'custom.yaml');
    writeFileSync(file, 'kafka:\n  partitions: 3\ntemporal:\n  taskQueue: from-file\n');
    const cfg = loadConfig({ env: { PROVISIONER_CONFIG: file, TEMPORAL_TASK_QUEUE: 'from-env' }, root });
    expect(cfg.kafka.partitions).toBe(3);
    expect(cfg.temporal.taskQueue).toBe('from-env');
  });

  it('rejects an invalid value with a message that names the setting', () => {
    expect(() => loadConfig({ env: { KAFKA_PARTITIONS: 'many' }, root })).toThrow(ConfigError);
    expect(() => loadConfig({ env: { KAFKA_PARTITIONS: 'many' }, root })).toThrow(/kafka\.partitions/);
    expect(() => loadConfig({ env: { TEMPORAL_ADDRESS: 'no-port' }, root })).toThrow(/host:port.*temporal\.address.*TEMPORAL_ADDRESS/s);
  });

  it('rejects an unknown key in the config file instead of ignoring it', () => {
    const file = path.join(root, 'typo.yaml');
    writeFileSync(file, 'kafak:\n  partitions: 3\n');
    expect(() => loadConfig({ env: { PROVISIONER_CONFIG: file }, root })).toThrow(/kafak/);
  });

  it('says so when the named config file does not exist', () => {
    expect(() => loadConfig({ env: { PROVISIONER_CONFIG: path.join(root, 'missing.yaml') }, root })).toThrow(/does not exist/);
  });
});

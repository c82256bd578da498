import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeFailure, exitStatusOf } from '../../cli/failure.js';
import { loadKeyring } from '../../codec/keyring.js';
import { loadPolicyOrThrow } from '../../runtime/worker.js';
import { ConfigError, databaseUrl, envTable, ldapOus, loadConfig, projectRoot } from '../../schemas/config.js';
import { readKeyFile } from '../../crypto/keyring.js';

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

  it('takes the topics\' copies and min.insync.replicas, and refuses more in-sync copies than copies', () => {
    const defaults = loadConfig({ env: {}, root });
    expect(defaults.kafka.replicationFactor).toBe(1);
    expect(defaults.kafka.minInsyncReplicas).toBeUndefined();
    const cluster = loadConfig({ env: { KAFKA_REPLICATION_FACTOR: '3', KAFKA_MIN_INSYNC_REPLICAS: '2' }, root });
    expect([cluster.kafka.replicationFactor, cluster.kafka.minInsyncReplicas]).toEqual([3, 2]);
    expect(() => loadConfig({ env: { KAFKA_MIN_INSYNC_REPLICAS: '2' }, root })).toThrow(/kafka\.minInsyncReplicas cannot exceed kafka\.replicationFactor.*KAFKA_MIN_INSYNC_REPLICAS/s);
  });

  it('rejects an unknown key in the config file instead of ignoring it', () => {
    const file = path.join(root, 'typo.yaml');
    writeFileSync(file, 'kafak:\n  partitions: 3\n');
    expect(() => loadConfig({ env: { PROVISIONER_CONFIG: file }, root })).toThrow(/kafak/);
  });

  it('says so when the named config file does not exist', () => {
    expect(() => loadConfig({ env: { PROVISIONER_CONFIG: path.join(root, 'missing.yaml') }, root })).toThrow(/does not exist/);
  });

  it('sets every setting of the env table from its variable, and the settings that moved into it', () => {
    const cfg = loadConfig({
      env: {
        PROVISIONER_STORE_SCHEMA: 'governance',
        PROVISIONER_AUDIT_CHECKPOINTS: '/worm/cp.jsonl',
        PROVISIONER_API_PORT: '9999',
        PROVISIONER_API_URL: 'https://api.example.test',
        PROVISIONER_API_CORS_ORIGINS: 'https://ui.example.test/, http://localhost:8233',
        PROVISIONER_API_JWT_ISSUER: 'idp',
        PROVISIONER_API_JWT_AUDIENCE: 'aud',
        PROVISIONER_API_JWT_SECRET_FILE: 'secrets/jwt',
        PROVISIONER_API_TOKEN: 'a.b.c',
        PROVISIONER_FENCE_POPULATION: '1200',
        PROVISIONER_FENCE_RECHECK_SECONDS: '30',
        PROVISIONER_PLAN_ONLY: 'crm, code',
      },
      root,
    });
    expect(cfg.postgres.schema).toBe('governance');
    expect(cfg.audit.checkpointsFile).toBe('/worm/cp.jsonl');
    expect(cfg.http.apiPort).toBe(9999);
    expect(cfg.api).toEqual({ url: 'https://api.example.test', corsOrigins: ['https://ui.example.test', 'http://localhost:8233'], jwt: { issuer: 'idp', audience: 'aud', secretFile: path.join(root, 'secrets/jwt') }, token: 'a.b.c' });
    expect(cfg.safety).toEqual({ planOnly: ['crm', 'code'], populationEstimate: 1200, fenceRecheckSeconds: 30 });
    // One row per variable, each naming a setting of the schema.
    const names = envTable.map((row) => row.env);
    expect(new Set(names).size).toBe(names.length);
  });

  it('derives the store schema, checkpoint file, consumer groups and OUs by default, and takes each from the file', () => {
    const defaults = loadConfig({ env: {}, root });
    expect(defaults.postgres.schema).toBe('public');
    expect(defaults.audit.checkpointsFile).toBe(path.join(root, '.provisioner', 'audit', 'checkpoints.jsonl'));
    expect(defaults.kafka.groups).toEqual({ hrIngress: 'provisioner-ingress', itsmIngress: 'provisioner-ingress-itsm', dlqRedrive: 'provisioner-dlq-redrive' });
    expect(ldapOus(defaults)).toEqual({ people: 'ou=people,dc=provisioner,dc=local', groups: 'ou=groups,dc=provisioner,dc=local', disabled: 'ou=disabled,dc=provisioner,dc=local' });
    const file = path.join(root, 'second.yaml');
    writeFileSync(file, 'dataDir: second\nkafka:\n  clientId: two\n  groups:\n    dlqRedrive: redrive-2\nldap:\n  ous:\n    people: ou=people,ou=two\n');
    const cfg = loadConfig({ env: {}, file, root });
    expect(cfg.kafka.groups).toEqual({ hrIngress: 'two-ingress', itsmIngress: 'two-ingress-itsm', dlqRedrive: 'redrive-2' });
    expect(cfg.audit.checkpointsFile).toBe(path.join(root, 'second', 'audit', 'checkpoints.jsonl'));
    expect(ldapOus(cfg).people).toBe('ou=people,ou=two,dc=provisioner,dc=local');
  });

  it('a parsed configuration written back as a file parses to the same configuration', () => {
    const cfg = loadConfig({ env: {}, file: path.join(projectRoot, 'examples', 'second-pipeline.yaml'), root: projectRoot });
    const file = path.join(root, 'round-trip.json');
    writeFileSync(file, JSON.stringify(cfg));
    expect(loadConfig({ env: {}, file, root: projectRoot })).toEqual(cfg);
  });
});

describe('configuration errors: one line saying what to fix, then details, never a stack; exit status 2', () => {
  /** What the CLI prints for the error `fn` throws, checked for the one-line shape. */
  function printed(fn: () => unknown): string[] {
    let caught: unknown;
    try {
      fn();
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect(exitStatusOf(caught)).toBe(2);
    const out = describeFailure(caught);
    expect(out).not.toMatch(/^\s+at /m);
    const [first, ...rest] = out.trimEnd().split('\n');
    expect(first).toMatch(/^provisioner: [^\n]+; [^\n]+$/);
    for (const line of rest) expect(line).toMatch(/^ {2}/);
    return [first!, ...rest];
  }

  it('a config file that is not YAML', () => {
    const file = path.join(root, 'bad.yaml');
    writeFileSync(file, 'kafka:\n  partitions: [1\n');
    const [line] = printed(() => loadConfig({ env: { PROVISIONER_CONFIG: file }, root }));
    expect(line).toMatch(/config file .*bad\.yaml is not valid YAML .*; correct the file/);
  });

  it('a bad value, naming the setting and the variable that set it', () => {
    const [line, ...details] = printed(() => loadConfig({ env: { KAFKA_PARTITIONS: 'many' }, root }));
    expect(line).toMatch(/invalid configuration: .* at kafka\.partitions \(set by KAFKA_PARTITIONS\); correct that setting/);
    expect(details.join('\n')).toMatch(/kafka\.partitions/);
    const file = path.join(root, 'bad-value.yaml');
    writeFileSync(file, 'postgres:\n  schema: Has-Dashes\n');
    expect(printed(() => loadConfig({ env: {}, file, root }))[0]).toMatch(/at postgres\.schema \(in .*bad-value\.yaml\)/);
  });

  it('a policy folder that does not exist', () => {
    const [line] = printed(() => loadPolicyOrThrow(path.join(root, 'no-policy')));
    expect(line).toMatch(/policy directory .*no-policy does not exist; set PROVISIONER_POLICY \(policy\.dir\)/);
  });

  it('a policy with problems: the count on the line, each problem after it', () => {
    const dir = path.join(root, 'bad-policy');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'roles.yaml'), 'roles:\n  - id: x\n    bogus: 1\n');
    const [line, ...details] = printed(() => loadPolicyOrThrow(dir));
    expect(line).toMatch(/the policy in .*bad-policy has 1 problem\(s\); correct the files/);
    expect(details).toEqual(['  roles.yaml:3: roles[0].bogus: unknown key "bogus"']);
  });

  it('an unreadable key file, for the store and for the codec', () => {
    const dir = mkdtempSync(path.join(root, 'keys-'));
    expect(printed(() => readKeyFile(dir, 32))[0]).toMatch(/cannot read key file .* \(EISDIR\); make it readable/);
    expect(printed(() => loadKeyring({ dataDir: root, env: { PROVISIONER_CODEC_KEYS_FILE: dir } }))[0]).toMatch(/cannot read key file .* \(EISDIR\); make it readable/);
    const corrupt = path.join(dir, 'codec.json');
    writeFileSync(corrupt, 'k1:c2hvcnQ=');
    expect(printed(() => loadKeyring({ dataDir: root, env: { PROVISIONER_CODEC_KEYS_FILE: corrupt } }))[0]).toMatch(/key k1 must be 32 bytes of base64, got 5 bytes/);
  });
});

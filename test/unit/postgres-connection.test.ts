// The store's PostgreSQL settings: TLS mode and CA, password files, owner and runtime roles; how
// they become node-postgres options; and the one line a failed connection gives.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { failureLine } from '../../cli/failure.js';
import { ConfigError, SECURE_STACK_CONFIG, loadConfig, ownerConnection, projectRoot, runtimeConnection } from '../../schemas/config.js';
import { pgClientConfig, postgresConnectionFailure, sslOption } from '../../store/postgres-connection.js';

const root = mkdtempSync(path.join(tmpdir(), 'provisioner-pg-config-'));
const caFile = path.join(root, 'ca.crt');
writeFileSync(caFile, '-----BEGIN CERTIFICATE-----\nnot really\n-----END CERTIFICATE-----\n');
const passwordFile = path.join(root, 'app-password');
writeFileSync(passwordFile, 'from-the-file\n');

describe('PostgreSQL settings', () => {
  it('by default: one role, no TLS, no owner connection (the local stack, as before)', () => {
    const cfg = loadConfig({ env: {}, root });
    expect(cfg.postgres.tls).toEqual({ mode: 'disable' });
    expect(ownerConnection(cfg)).toBeUndefined();
    expect(pgClientConfig(runtimeConnection(cfg))).toMatchObject({ host: '127.0.0.1', port: 15432, user: 'postgres', database: 'provisioner', ssl: false });
  });

  it('takes the TLS mode, CA, password files and owner from the environment, paths against the project root', () => {
    const cfg = loadConfig({
      env: {
        DATABASE_URL: 'postgres://app@db.example.test:5432/prov',
        DATABASE_PASSWORD_FILE: 'secrets/app',
        DATABASE_OWNER_URL: 'postgres://owner@db.example.test:5432/prov',
        DATABASE_OWNER_PASSWORD_FILE: 'secrets/owner',
        POSTGRES_SSLMODE: 'verify-full',
        POSTGRES_CA_FILE: 'pki/rds-ca.pem',
      },
      root,
    });
    expect(cfg.postgres).toMatchObject({
      external: true,
      passwordFile: path.join(root, 'secrets/app'),
      ownerUrl: 'postgres://owner@db.example.test:5432/prov',
      ownerPasswordFile: path.join(root, 'secrets/owner'),
      tls: { mode: 'verify-full', caFile: path.join(root, 'pki/rds-ca.pem') },
    });
    expect(ownerConnection(cfg)).toMatchObject({ url: 'postgres://owner@db.example.test:5432/prov', passwordFile: path.join(root, 'secrets/owner'), tls: cfg.postgres.tls });
  });

  it("adopts the URL's sslmode and sslrootcert when postgres.tls does not say", () => {
    const cfg = loadConfig({ env: { DATABASE_URL: `postgres://app@db:5432/prov?sslmode=verify-ca&sslrootcert=${caFile}` }, root });
    expect(cfg.postgres.tls).toEqual({ mode: 'verify-ca', caFile });
  });

  it("refuses an sslmode in the URL that disagrees with postgres.tls.mode instead of letting either win", () => {
    const env = { DATABASE_URL: 'postgres://app@db:5432/prov?sslmode=require', POSTGRES_SSLMODE: 'verify-full' };
    expect(() => loadConfig({ env, root })).toThrow(ConfigError);
    expect(() => loadConfig({ env, root })).toThrow(/sslmode=require but the TLS mode is verify-full; remove sslmode from the URL .* at postgres\.tls\.mode \(set by POSTGRES_SSLMODE\)/);
  });

  it('refuses the modes that fall back to plain TCP, client certificates in the URL, and verify-ca without a CA', () => {
    expect(() => loadConfig({ env: { DATABASE_URL: 'postgres://app@db/prov?sslmode=prefer' }, root })).toThrow(/sslmode=prefer in the connection URL is not supported/);
    expect(() => loadConfig({ env: { DATABASE_URL: 'postgres://app@db/prov?sslcert=/c.pem' }, root })).toThrow(/sslcert in the connection URL is not supported/);
    expect(() => loadConfig({ env: { POSTGRES_SSLMODE: 'prefer' }, root })).toThrow(/postgres\.tls\.mode \(set by POSTGRES_SSLMODE\)/);
    expect(() => loadConfig({ env: { POSTGRES_SSLMODE: 'verify-ca' }, root })).toThrow(/verify-ca needs the CA file .* at postgres\.tls\.caFile/);
  });

  it('the secured stack example: app role at runtime, owner for migrations, verify-full with the development CA', () => {
    const cfg = loadConfig({ env: {}, file: path.join(projectRoot, SECURE_STACK_CONFIG), root: projectRoot });
    expect(cfg.postgres.external).toBe(false);
    expect(runtimeConnection(cfg)).toMatchObject({ url: 'postgres://provisioner_app@localhost:15433/provisioner', tls: { mode: 'verify-full' } });
    expect(runtimeConnection(cfg).passwordFile).toMatch(/\.provisioner-secure\/secrets\/postgres-app-password$/);
    expect(ownerConnection(cfg)).toMatchObject({ url: 'postgres://provisioner_owner@localhost:15433/provisioner' });
    expect(ownerConnection(cfg)!.passwordFile).toMatch(/\.provisioner-secure\/secrets\/postgres-owner-password$/);
    expect(cfg.postgres.tls.caFile).toMatch(/\.provisioner-secure\/pki\/ca\.crt$/);
  });
});

describe('the ssl option node-postgres gets', () => {
  it('verify-full checks the chain and the host name; verify-ca the chain only; require nothing; disable is plain', () => {
    const full = sslOption('verify-full', 'CA');
    expect(full).toEqual({ rejectUnauthorized: true, ca: 'CA' });
    const ca = sslOption('verify-ca', 'CA');
    expect(ca).toMatchObject({ rejectUnauthorized: true, ca: 'CA' });
    expect(ca && ca.checkServerIdentity!('other.host', {} as never)).toBeUndefined();
    expect(sslOption('require')).toEqual({ rejectUnauthorized: false });
    expect(sslOption('disable')).toBe(false);
    // No CA file: the system's CAs (a managed service signed by a public CA).
    expect(sslOption('verify-full')).toEqual({ rejectUnauthorized: true });
  });

  it('reads the CA file and sets the role, host and database from the URL, never letting its parameters override ours', () => {
    const config = pgClientConfig({
      url: 'postgres://app:in-url@db.example.test:6543/prov?application_name=x',
      tls: { mode: 'verify-full', caFile },
      settings: { url: 'postgres.url', password: 'postgres.passwordFile' },
    });
    expect(config).toMatchObject({ host: 'db.example.test', port: 6543, user: 'app', database: 'prov', password: 'in-url', application_name: 'x' });
    expect(config.ssl).toEqual({ rejectUnauthorized: true, ca: expect.stringContaining('not really') });
  });

  it('re-reads the password file for each new connection, and it wins over the URL', async () => {
    const config = pgClientConfig({ url: 'postgres://app:in-url@db/prov', passwordFile, tls: { mode: 'disable' }, settings: { url: 'u', password: 'p' } });
    const password = config.password as () => Promise<string>;
    expect(await password()).toBe('from-the-file');
    writeFileSync(passwordFile, 'rotated\n');
    expect(await password()).toBe('rotated');
  });

  it('a CA file that cannot be read is one postgres: line naming the setting', () => {
    expect(() => pgClientConfig({ url: 'postgres://app@db/prov', tls: { mode: 'verify-full', caFile: path.join(root, 'missing.crt') }, settings: { url: 'u', password: 'p' } }))
      .toThrow(/^postgres: the CA file .*missing\.crt cannot be read \(ENOENT\); check postgres\.tls\.caFile \(POSTGRES_CA_FILE\)$/);
  });
});

describe('a failed connection is one line naming the hop, the role and what to check, without the secret', () => {
  const cfg = loadConfig({ env: { DATABASE_URL: 'postgres://app:s3cret-pw@db.example.test:5432/prov', POSTGRES_SSLMODE: 'verify-full' }, root });
  const connection = runtimeConnection(cfg);
  const line = (err: Error) => {
    const failure = postgresConnectionFailure(err, connection);
    expect(failure).toBeDefined();
    expect(failure!.message).not.toContain('s3cret-pw');
    expect(failure!.message).not.toContain('\n');
    expect(failure!.message).toMatch(/^postgres: .* for role "app" at db\.example\.test:5432\/prov; check /);
    return failure!.message;
  };
  const pgError = (code: string, message: string, detail?: string) => Object.assign(new Error(message), { code, ...(detail ? { detail } : {}) });

  it('a wrong password', () => {
    expect(line(pgError('28P01', 'password authentication failed for user "app"'))).toMatch(/password authentication failed .*check postgres\.passwordFile \(DATABASE_PASSWORD_FILE\) or the password in postgres\.url \(DATABASE_URL\)$/);
  });

  it('a server that refuses a connection without TLS', () => {
    expect(line(pgError('28000', 'no pg_hba.conf entry for host "10.0.0.1", user "app", database "prov", no encryption'))).toMatch(/refuses connections without TLS.*check postgres\.tls\.mode \(POSTGRES_SSLMODE\)/);
  });

  it('a server certificate signed by another CA, or for another host', () => {
    expect(line(Object.assign(new Error('self-signed certificate in certificate chain'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' }))).toMatch(/certificate is not trusted \(SELF_SIGNED_CERT_IN_CHAIN\).*postgres\.tls\.caFile/);
    expect(line(Object.assign(new Error("Hostname/IP does not match certificate's altnames"), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' }))).toMatch(/does not name this host/);
  });

  it('a server that does not offer TLS, or cannot be reached', () => {
    expect(line(new Error('The server does not support SSL connections'))).toMatch(/does not offer TLS \(TLS mode verify-full\)/);
    expect(line(Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:5432'), { code: 'ECONNREFUSED' }))).toMatch(/cannot be reached \(ECONNREFUSED\).*check postgres\.url \(DATABASE_URL\) and that the server runs$/);
  });

  it('the CLI prints it as its one line; a failure that is not about the connection is left alone', () => {
    const failure = postgresConnectionFailure(pgError('28P01', 'password authentication failed for user "app"'), connection)!;
    expect(failureLine(failure)).toMatch(/^provisioner: postgres: password authentication failed for role "app"/);
    expect(postgresConnectionFailure(pgError('42P01', 'relation "x" does not exist'), connection)).toBeUndefined();
  });
});

// The directory's connection settings: TLS (ldaps:// or StartTLS with a pinned CA) and the rule
// that the development bind password stands in only for the local development slapd.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConnectorConfig } from '../../connectors/config.js';
import { ldapConnection } from '../../connectors/ldap/connect.js';
import { ConfigError, LDAP_DEV_BIND_PASSWORD, ldapBindPassword, loadConfig } from '../../schemas/config.js';

const root = mkdtempSync(path.join(tmpdir(), 'provisioner-ldap-tls-'));
const load = (env: Record<string, string>) => loadConfig({ env, root });
const refusal = (env: Record<string, string>) => {
  try {
    load(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
};

describe('the directory bind password', () => {
  it('when nothing is set on the local stack, the development password stands in', () => {
    expect(load({}).ldap.bindPassword).toBe(LDAP_DEV_BIND_PASSWORD);
    expect(load({ LDAP_URL: 'ldap://localhost:3891' }).ldap.bindPassword).toBe(LDAP_DEV_BIND_PASSWORD);
  });

  it('when the directory is not on this machine and no password is given, loading the config names both variables', () => {
    expect(refusal({ LDAP_URL: 'ldaps://ldap.example.com' })).toBe(
      'ldap: no bind password for ldaps://ldap.example.com, which is not the local development slapd; set LDAP_BIND_PASSWORD_FILE (ldap.bindPasswordFile) to a file holding it, or LDAP_BIND_PASSWORD',
    );
  });

  it('in production mode the development password never stands in, even on loopback', () => {
    const cfg = load({ PROVISIONER_MODE: 'production' });
    expect(cfg.ldap.bindPassword).toBeUndefined();
    expect(() => ldapBindPassword(cfg)).toThrow(/^ldap: no bind password in production mode; set LDAP_BIND_PASSWORD_FILE/);
  });

  it('a password file wins and is read on use', () => {
    const file = path.join(root, 'bind-password');
    writeFileSync(file, 'from-the-file\n');
    const cfg = load({ LDAP_URL: 'ldaps://ldap.example.com', LDAP_BIND_PASSWORD_FILE: file });
    expect(cfg.ldap.bindPassword).toBeUndefined();
    expect(ldapBindPassword(cfg)).toBe('from-the-file');
    writeFileSync(file, 'rotated\n');
    expect(ldapBindPassword(cfg)).toBe('rotated');
  });
});

describe('TLS to the directory', () => {
  it('reads StartTLS and a pinned CA from the environment, the CA resolved against the project root', () => {
    const cfg = load({ LDAP_URL: 'ldap://ldap.example.com', LDAP_BIND_PASSWORD: 'x', LDAP_STARTTLS: 'true', LDAP_TLS_CA_FILE: 'pki/ca.crt' });
    expect(cfg.ldap.tls).toEqual({ startTls: true, caFile: path.join(root, 'pki/ca.crt') });
  });

  it('refuses a CA for a plain ldap:// URL, and StartTLS on ldaps://', () => {
    expect(refusal({ LDAP_TLS_CA_FILE: 'ca.crt' })).toBe(
      'ldap: LDAP_TLS_CA_FILE (ldap.tls.caFile) is set but ldap://127.0.0.1:3890 is plain; set LDAP_STARTTLS=true (ldap.tls.startTls) or use an ldaps:// URL',
    );
    expect(refusal({ LDAP_URL: 'ldaps://localhost:6361', LDAP_STARTTLS: 'true' })).toBe(
      'ldap: LDAP_STARTTLS (ldap.tls.startTls) applies to ldap:// URLs, and ldaps://localhost:6361 is TLS already; unset it',
    );
    expect(refusal({ LDAP_STARTTLS: 'yes' })).toMatch(/at ldap\.tls\.startTls \(set by LDAP_STARTTLS\)/);
  });

  it('a per-app LDAP connector config takes the same TLS settings and the same rule', () => {
    const base = {
      type: 'ldap', app: 'corp-dir', bindDn: 'cn=svc,dc=corp', bindPassword: { env: 'CORP_DIR_PASSWORD' }, baseDn: 'dc=corp',
      peopleDn: 'ou=people,dc=corp', groupsDn: 'ou=groups,dc=corp', disable: { mode: 'move', disabledDn: 'ou=disabled,dc=corp' },
    };
    expect(parseConnectorConfig({ ...base, url: 'ldap://dir.corp', tls: { startTls: true, caFile: 'corp-ca.pem' } })).toMatchObject({ tls: { startTls: true, caFile: 'corp-ca.pem' } });
    expect(() => parseConnectorConfig({ ...base, url: 'ldap://dir.corp', tls: { caFile: 'corp-ca.pem' } })).toThrow(/the ldap:\/\/ URL is plain: set tls.startTls: true/);
    expect(() => parseConnectorConfig({ ...base, url: 'ldaps://dir.corp', tls: { startTls: true } })).toThrow(/an ldaps:\/\/ URL is TLS already/);
  });

  it('a StartTLS client never opens a plain connection itself: an operation before the upgrade is refused', async () => {
    const { client } = ldapConnection({ url: 'ldap://127.0.0.1:9', tls: { startTls: true }, connectTimeoutMs: 500 });
    await expect(client.search('dc=x', { scope: 'base' })).rejects.toThrow(/refusing a plain connection to ldap:\/\/127\.0\.0\.1:9: StartTLS is required/);
  });
});

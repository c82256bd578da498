// The secured local slapd (examples/secure-stack.yaml: StartTLS on 3891, ldaps on 6361, the
// development CA, the admin password in a file) and the LDAP connector built from that same
// configuration, as the worker builds it: it works over StartTLS and over ldaps with the pinned CA;
// the server refuses a bind without TLS; a client trusting another CA, or giving a wrong password,
// fails with one `ldap` line that names what to check and not the password. The secured slapd is
// left running for the next test file (stop it with `provisioner stack down --secure slapd`).
import path from 'node:path';
import { Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callContext, person } from '../../connectors/conformance/harness.js';
import { createConnector, type ConnectorConfig } from '../../connectors/config.js';
import type { AccountRef, Connector } from '../../connectors/contract.js';
import { AuthError } from '../../connectors/errors.js';
import { ldapConnectorConfig } from '../../runtime/connectors.js';
import { ldapBindPassword, projectRoot } from '../../schemas/config.js';
import { secureStackConfig } from '../helpers/secure-stack.js';
import { createTestPki, type TestPki } from '../helpers/tls.js';
import { uniqueName } from '../helpers/unique.js';

const cfg = secureStackConfig();
const ldapsUrl = `ldaps://localhost:${cfg.ldap.ldapsPort}`;
let otherCa: TestPki;
const opened: Connector[] = [];

/** The directory connector of the secured config, with changes (another URL, CA or password). */
function directory(change: (config: Extract<ConnectorConfig, { type: 'ldap' }>) => ConnectorConfig = (c) => c, env: NodeJS.ProcessEnv = {}): Connector {
  const connector = createConnector(change(ldapConnectorConfig(cfg, 'directory') as Extract<ConnectorConfig, { type: 'ldap' }>), { env, root: projectRoot });
  opened.push(connector);
  return connector;
}

beforeAll(async () => {
  otherCa = createTestPki('Some Other CA');
}, 120_000);
afterAll(async () => {
  await Promise.all(opened.map((c) => (c as { close?: () => Promise<void> }).close?.()));
  otherCa?.remove();
});

async function roundTrip(connector: Connector): Promise<void> {
  const id = uniqueName('E-TLS').toUpperCase();
  const ensured = await connector.ensureAccount(person(id, id.toLowerCase()), callContext());
  expect(ensured.status).toBe('created');
  const account = (ensured as { account: AccountRef }).account;
  expect((await connector.getAccount!({ employeeId: id }, callContext()))?.userName).toBe(id.toLowerCase());
  await (connector as unknown as { deleteAccount(r: { account: AccountRef }, c: unknown): Promise<unknown> }).deleteAccount({ account }, callContext());
}

describe('the secured slapd and the LDAP connector', () => {
  it('the configuration asks for StartTLS with the development CA and a password file', () => {
    expect(cfg.ldap).toMatchObject({ url: 'ldap://localhost:3891', tls: { startTls: true, caFile: path.join(projectRoot, '.provisioner-secure', 'pki', 'ca.crt') } });
    expect(cfg.ldap.bindPassword).toBeUndefined();
  });

  it('the connector works over StartTLS with the pinned CA', async () => {
    await roundTrip(directory());
  });

  it('the connector works over ldaps with the pinned CA', async () => {
    await roundTrip(directory((c) => ({ ...c, url: ldapsUrl, tls: { caFile: c.tls!.caFile! } })));
  });

  it('the server refuses a bind without TLS (13 confidentialityRequired)', async () => {
    const plain = new Client({ url: cfg.ldap.url, timeout: 5000, connectTimeout: 5000 });
    try {
      await expect(plain.bind(cfg.ldap.bindDn, ldapBindPassword(cfg))).rejects.toMatchObject({ code: 13 });
    } finally {
      await plain.unbind().catch(() => undefined);
    }
  });

  it.each([
    ['StartTLS', (c: Extract<ConnectorConfig, { type: 'ldap' }>) => ({ ...c, tls: { startTls: true, caFile: otherCa.caFile } })],
    ['ldaps', (c: Extract<ConnectorConfig, { type: 'ldap' }>) => ({ ...c, url: ldapsUrl, tls: { caFile: otherCa.caFile } })],
  ])('a client trusting another CA fails over %s with one ldap line naming the CA setting', async (_how, change) => {
    const refused = await directory(change).getAccount!({ employeeId: 'E-NOBODY' }, callContext()).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AuthError);
    const message = (refused as Error).message;
    expect(message.split('\n')).toHaveLength(1);
    expect(message).toMatch(/^ldap directory: the TLS certificate of ldaps?:\/\/localhost:\d+ could not be verified \([A-Z_]+\); check the CA in tls\.caFile \(LDAP_TLS_CA_FILE for the directory\)$/);
  });

  it('a wrong bind password fails with one ldap line that does not hold the password', async () => {
    const wrong = 'not-the-directory-password';
    const refused = await directory((c) => ({ ...c, bindPassword: { env: 'WRONG' } }), { WRONG: wrong }).getAccount!({ employeeId: 'E-NOBODY' }, callContext()).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AuthError);
    const message = (refused as Error).message;
    expect(message).toBe(`ldap directory: bind as ${cfg.ldap.bindDn} refused: invalid credentials (LDAP 49); check the bind password (LDAP_BIND_PASSWORD or LDAP_BIND_PASSWORD_FILE for the directory)`);
    expect(`${message}\n${(refused as Error).stack ?? ''}`).not.toContain(wrong);
  });
});

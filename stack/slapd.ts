// An OpenLDAP slapd from Debian's packages, run from a project-owned slapd.conf and data folder.
// Secured (stack.secure): TLS from the development CA on the configured ldap:// port (StartTLS) and
// on ldap.ldapsPort (ldaps://), every operation refused without TLS (`security tls=1`), the admin
// password a development secret in <dataDir>/secrets/ldap-bind-password; the health check and the
// seed connect with the configuration's own TLS settings, as the worker does.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from 'ldapts';
import { bindLdap, directoryConnectOptions } from '../connectors/ldap/connect.js';
import { ldapBindPassword, stackPkiDir, stackSecretFile, type Config } from '../schemas/config.js';
import { ensureDevPki } from './dev-pki.js';
import { ensureDevSecret } from './dev-secrets.js';
import { installDebianPackages } from './debian-packages.js';
import { pidFile, readLivePid, stopByPidFile, waitFor } from './processes.js';
import { run, type Reporter } from './shell.js';
import type { ServerStatus } from './server-status.js';

const NAME = 'slapd';
const SLAPD = '/usr/sbin/slapd';

/** The folder of the local slapd: its slapd.conf, pid file and data folder (`data`, the mdb database). */
export const slapdDir = (cfg: Pick<Config, 'dataDir'>): string => path.join(cfg.dataDir, NAME);

/** The secured slapd's admin password file (examples/secure-stack.yaml names it as ldap.bindPasswordFile). */
export const secureSlapdPasswordFile = (cfg: Pick<Config, 'dataDir'>) => stackSecretFile(cfg, 'ldap-bind-password');

/** A salted SHA-1 userPassword value (`{SSHA}`, as slappasswd makes), so the config file holds no password. */
function ssha(password: string): string {
  const salt = randomBytes(8);
  return `{SSHA}${Buffer.concat([createHash('sha1').update(password).update(salt).digest(), salt]).toString('base64')}`;
}

/** TLS from the development CA, and no operation (a bind least of all) without it. */
function tlsDirectives(cfg: Config): string[] {
  if (!cfg.stack.secure) return [];
  const pki = ensureDevPki(stackPkiDir(cfg));
  return [
    `TLSCACertificateFile ${pki.caFile}`,
    `TLSCertificateFile ${pki.certFile}`,
    `TLSCertificateKeyFile ${pki.keyFile}`,
    'TLSProtocolMin 3.3',
    // slapd.conf(5): tls=1 asks TLS of every operation (StartTLS itself excepted), so a plain bind is refused with 13 confidentialityRequired.
    'security tls=1',
  ];
}

/** The URLs slapd listens on: the configured ldap:// (StartTLS when secured), and ldaps:// when secured. */
function listenUrls(cfg: Config): string {
  const url = new URL(cfg.ldap.url);
  const plain = `${url.protocol}//${url.hostname}:${url.port || (url.protocol === 'ldaps:' ? 636 : 389)}/`;
  return cfg.stack.secure && url.protocol === 'ldap:' ? `${plain} ldaps://${url.hostname}:${cfg.ldap.ldapsPort}/` : plain;
}

export function writeSlapdConf(cfg: Config, dir: string): string {
  const conf = path.join(dir, 'slapd.conf');
  const schema = (name: string) => `include /etc/ldap/schema/${name}.schema`;
  mkdirSync(path.join(dir, 'data'), { recursive: true });
  writeFileSync(conf, [
    schema('core'), schema('cosine'), schema('inetorgperson'), schema('nis'),
    `pidfile ${path.join(dir, 'slapd.pid')}`,
    `argsfile ${path.join(dir, 'slapd.args')}`,
    'modulepath /usr/lib/ldap',
    'moduleload back_mdb',
    'moduleload memberof',
    'moduleload refint',
    ...tlsDirectives(cfg),
    'database mdb',
    'maxsize 1073741824',
    `suffix "${cfg.ldap.baseDn}"`,
    `rootdn "${cfg.ldap.bindDn}"`,
    `rootpw ${ssha(cfg.stack.secure ? ensureDevSecret(secureSlapdPasswordFile(cfg)) : ldapBindPassword(cfg))}`,
    `directory ${path.join(dir, 'data')}`,
    'index objectClass eq',
    'index employeeNumber eq',
    'index uid eq',
    'index member eq',
    'overlay memberof',
    'overlay refint',
    'refint_attributes member',
    '',
  ].join('\n'), { mode: 0o600 });
  return conf;
}

async function withClient<T>(cfg: Config, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = await bindLdap(directoryConnectOptions(cfg, { timeoutMs: 2000, connectTimeoutMs: 1500 }), cfg.ldap.bindDn, ldapBindPassword(cfg));
  try {
    return await fn(client);
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

export async function slapdHealthy(cfg: Config): Promise<boolean> {
  try {
    return await withClient(cfg, async (client) => {
      const { searchEntries } = await client.search(cfg.ldap.baseDn, { scope: 'base' });
      return searchEntries.length === 1;
    });
  } catch {
    return false;
  }
}

/**
 * The organisational units to create, parents first: every level below the base of the OUs that
 * ldap.manageOus names (`ou=second`, then `ou=people,ou=second`). The others are the directory owner's.
 */
export function ouEntries(cfg: Pick<Config, 'ldap'>): Array<{ dn: string; ou: string }> {
  const dns = new Set<string>();
  for (const relative of cfg.ldap.manageOus.map((role) => cfg.ldap.ous[role])) {
    const rdns = relative.split(',');
    for (let i = rdns.length - 1; i >= 0; i--) dns.add([...rdns.slice(i), cfg.ldap.baseDn].join(','));
  }
  return [...dns].map((dn) => ({ dn, ou: dn.slice(dn.indexOf('=') + 1, dn.indexOf(',')) }));
}

/** Creates the base entry and the organisational units if missing (idempotent); returns the DNs it created. */
export async function seedDirectory(cfg: Config): Promise<string[]> {
  return withClient(cfg, async (client) => {
    const created: string[] = [];
    const dc = /^dc=([^,]+)/i.exec(cfg.ldap.baseDn)?.[1] ?? 'provisioner';
    const entries: Array<[string, Record<string, string | string[]>]> = [
      [cfg.ldap.baseDn, { objectClass: ['top', 'dcObject', 'organization'], dc, o: dc }],
      ...ouEntries(cfg).map(({ dn, ou }): [string, Record<string, string | string[]>] => [dn, { objectClass: ['top', 'organizationalUnit'], ou }]),
    ];
    for (const [dn, attributes] of entries) {
      try {
        await client.add(dn, attributes);
        created.push(dn);
      } catch (err) {
        // 68 entryAlreadyExists is the expected answer on every start after the first.
        if ((err as { code?: number }).code !== 68) throw err;
      }
    }
    return created;
  });
}

export async function slapdUp(cfg: Config, report: Reporter): Promise<void> {
  const seeded = async () => {
    await seedDirectory(cfg);
    return true;
  };
  if (cfg.ldap.external) {
    if (!(await slapdHealthy(cfg))) throw new Error(`slapd: LDAP_URL=${cfg.ldap.url} is not reachable with the configured bind DN; start it or unset LDAP_URL`);
    // The configured OUs (ldap.ous) may be new: a second pipeline's subtree in the same directory.
    const created = await seedDirectory(cfg);
    report(`slapd: using LDAP_URL (${cfg.ldap.url})${created.length > 0 ? `; created ${created.join(', ')}` : ''}`);
    return;
  }
  if (await slapdHealthy(cfg)) {
    await seeded();
    report(`slapd: reusing the healthy server at ${cfg.ldap.url}`);
    return;
  }
  if (!existsSync(SLAPD)) await installDebianPackages(['slapd', 'ldap-utils'], 'OpenLDAP (slapd)', report);
  const dir = slapdDir(cfg);
  const conf = writeSlapdConf(cfg, dir);
  await run(SLAPD, ['-f', conf, '-h', listenUrls(cfg)]);
  const pidPath = path.join(dir, 'slapd.pid');
  await waitFor('slapd pid file', async () => readLivePid(pidPath) !== undefined, { timeoutMs: 10_000 });
  const pid = readLivePid(pidPath)!;
  mkdirSync(path.dirname(pidFile(cfg.dataDir, NAME)), { recursive: true });
  writeFileSync(pidFile(cfg.dataDir, NAME), `${pid}\n`);
  report(`slapd: started OpenLDAP slapd (pid ${pid}, config ${conf})`);
  await waitFor('slapd', () => seeded().then(() => slapdHealthy(cfg)), { timeoutMs: 20_000 });
  report(`slapd: listening on ${listenUrls(cfg).trim().split(' ').join(' and ')}${cfg.stack.secure ? ' (TLS only, development CA)' : ''}, base ${cfg.ldap.baseDn}`);
}

export async function slapdDown(cfg: Config): Promise<boolean> {
  return stopByPidFile(pidFile(cfg.dataDir, NAME), 15_000);
}

export async function slapdStatus(cfg: Config): Promise<ServerStatus> {
  return {
    name: NAME,
    where: `${cfg.ldap.url} (${cfg.ldap.baseDn})`,
    managed: !cfg.ldap.external,
    pid: readLivePid(pidFile(cfg.dataDir, NAME)),
    healthy: await slapdHealthy(cfg),
  };
}

// An OpenLDAP slapd from Debian's packages, run from a project-owned slapd.conf and data folder.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from 'ldapts';
import { bindLdap, directoryConnectOptions } from '../connectors/ldap/connect.js';
import { ldapBindPassword, type Config } from '../schemas/config.js';
import { installDebianPackages } from './debian-packages.js';
import { pidFile, readLivePid, stopByPidFile, waitFor } from './processes.js';
import { run, type Reporter } from './shell.js';
import type { ServerStatus } from './server-status.js';

const NAME = 'slapd';
const SLAPD = '/usr/sbin/slapd';

function writeSlapdConf(cfg: Config, dir: string): string {
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
    'database mdb',
    'maxsize 1073741824',
    `suffix "${cfg.ldap.baseDn}"`,
    `rootdn "${cfg.ldap.bindDn}"`,
    `rootpw ${ldapBindPassword(cfg)}`,
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
  const dir = path.join(cfg.dataDir, NAME);
  const conf = writeSlapdConf(cfg, dir);
  const url = new URL(cfg.ldap.url);
  await run(SLAPD, ['-f', conf, '-h', `ldap://${url.hostname}:${url.port || 389}/`]);
  const pidPath = path.join(dir, 'slapd.pid');
  await waitFor('slapd pid file', async () => readLivePid(pidPath) !== undefined, { timeoutMs: 10_000 });
  const pid = readLivePid(pidPath)!;
  mkdirSync(path.dirname(pidFile(cfg.dataDir, NAME)), { recursive: true });
  writeFileSync(pidFile(cfg.dataDir, NAME), `${pid}\n`);
  report(`slapd: started OpenLDAP slapd (pid ${pid}, config ${conf})`);
  await waitFor('slapd', () => seeded().then(() => slapdHealthy(cfg)), { timeoutMs: 20_000 });
  report(`slapd: listening on ${cfg.ldap.url}, base ${cfg.ldap.baseDn}`);
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

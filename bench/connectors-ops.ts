// Connector operations per second against the local servers (not a test): ensureAccount (create,
// then a repeat that is `unchanged`) and grant (applied, then a repeat that is `already-in-state`),
// for the SCIM connector against a target app in its own process and for the LDAP connector
// against the stack's slapd (`npx provisioner stack up` first).
//
// Run (compiles this file, the target app's entry and what they import, then runs it):
//   npx tsc --outDir .provisioner/bench-build --rootDir . --module nodenext --moduleResolution nodenext \
//     --target es2022 --types node --skipLibCheck --noCheck --esModuleInterop --resolveJsonModule \
//     bench/connectors-ops.ts targets/main.ts \
//   && node .provisioner/bench-build/bench/connectors-ops.js [--ops 2000] [--concurrency 16]
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bindLdap, directoryConnectOptions } from '../connectors/ldap/connect.js';
import type { AccountRef, CallContext, Connector, EnsureAccountRequest } from '../connectors/contract.js';
import { LdapConnector } from '../connectors/ldap/ldap-connector.js';
import { ScimConnector } from '../connectors/scim/scim-connector.js';
import { ldapBindPassword, loadConfig, projectRoot } from '../schemas/config.js';
import { freePort } from '../stack/processes.js';

const { values: args } = parseArgs({
  options: { ops: { type: 'string', default: '2000' }, concurrency: { type: 'string', default: '16' }, groups: { type: 'string', default: '3' } },
});
const OPS = Number(args.ops);
const CONCURRENCY = Number(args.concurrency);
const GROUPS = Number(args.groups);

const call = (): CallContext => ({ idempotencyKey: randomBytes(6).toString('hex'), correlationId: 'bench', signal: new AbortController().signal });

type Result = { connector: string; operation: string; ops: number; seconds: number; perSecond: number; p50: number; p99: number; outcomes: Record<string, number> };

/** Runs `count` operations `concurrency` at a time; returns throughput, latency percentiles (ms) and outcome counts. */
async function measure(connector: string, operation: string, count: number, op: (i: number) => Promise<string>): Promise<Result> {
  const latencies: number[] = [];
  const outcomes: Record<string, number> = {};
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, count) }, async () => {
      while (next < count) {
        const i = next++;
        const t = performance.now();
        const status = await op(i);
        latencies.push(performance.now() - t);
        outcomes[status] = (outcomes[status] ?? 0) + 1;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]! * 100) / 100;
  return { connector, operation, ops: count, seconds: Math.round(seconds * 100) / 100, perSecond: Math.round(count / seconds), p50: pct(50), p99: pct(99), outcomes };
}

async function runSuite(name: string, connector: Connector, groups: string[]): Promise<Result[]> {
  const prefix = `B${randomBytes(3).toString('hex')}`;
  const req = (i: number): EnsureAccountRequest => {
    const id = `${prefix}-${String(i).padStart(6, '0')}`;
    return { employeeId: id, userName: `${id.toLowerCase()}@bench.example`, givenName: 'Bench', familyName: `Person ${i}`, email: `${id.toLowerCase()}@bench.example`, active: true };
  };
  const refs: AccountRef[] = new Array<AccountRef>(OPS);
  const results: Result[] = [];
  results.push(
    await measure(name, 'ensureAccount (create)', OPS, async (i) => {
      const r = await connector.ensureAccount(req(i), call());
      if (r.status === 'action-required') throw new Error(r.message);
      refs[i] = r.account;
      return r.status;
    }),
  );
  results.push(await measure(name, 'ensureAccount (repeat, unchanged)', OPS, async (i) => (await connector.ensureAccount(req(i), call())).status));
  const grant = connector.grant!.bind(connector);
  results.push(await measure(name, 'grant (applied)', OPS, async (i) => (await grant({ account: refs[i]!, entitlementId: groups[i % groups.length]! }, call())).status));
  results.push(await measure(name, 'grant (repeat, already-in-state)', OPS, async (i) => (await grant({ account: refs[i]!, entitlementId: groups[i % groups.length]! }, call())).status));
  return results;
}

/** The SCIM target app in its own process (compiled next to this file, else the project's dist/). */
async function startTargetProcess(): Promise<{ child: ChildProcess; scimUrl: string; token: string }> {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const main = [path.join(here, '..', 'targets', 'main.js'), path.join(projectRoot, 'dist', 'targets', 'main.js')].find((f) => existsSync(f));
  if (!main) throw new Error('targets/main.js not found: compile it with the bench (see the header of bench/connectors-ops.ts) or run `npm run build`');
  const port = await freePort();
  const token = `bench-${randomBytes(12).toString('hex')}`;
  const child = spawn(process.execPath, [main, '--name', 'bench', '--port', String(port), '--log-level', 'warn'], {
    env: { ...process.env, SCIM_APP_BEARER_TOKEN: token, SCIM_APP_ADMIN_TOKEN: `admin-${token}` },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i += 1) {
    if (child.exitCode !== null) throw new Error(`the SCIM target exited with ${child.exitCode}`);
    const ok = await fetch(`${url}/health`).then((r) => r.ok, () => false);
    if (ok) return { child, scimUrl: `${url}/scim/v2`, token };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error('the SCIM target did not come up within 10 s');
}

async function scimBench(): Promise<Result[]> {
  const target = await startTargetProcess();
  try {
    const connector = new ScimConnector({ app: 'bench', baseUrl: target.scimUrl, bearerToken: () => target.token });
    const groups: string[] = [];
    for (let g = 0; g < GROUPS; g += 1) {
      const res = await fetch(`${target.scimUrl}/Groups`, {
        method: 'POST',
        headers: { authorization: `Bearer ${target.token}`, 'content-type': 'application/scim+json' },
        body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: `bench-group-${g}` }),
      });
      groups.push(((await res.json()) as { id: string }).id);
    }
    return await runSuite('SCIM (target app process, bearer)', connector, groups);
  } finally {
    target.child.kill('SIGTERM');
  }
}

async function ldapBench(): Promise<Result[]> {
  const cfg = loadConfig();
  const admin = await bindLdap(directoryConnectOptions(cfg, { timeoutMs: 30_000 }), cfg.ldap.bindDn, ldapBindPassword(cfg));
  const ou = `ou=bench-${randomBytes(4).toString('hex')},${cfg.ldap.baseDn}`;
  await admin.add(ou, { objectClass: ['organizationalUnit'], ou: ou.slice(3, ou.indexOf(',')) });
  for (const sub of ['people', 'groups', 'disabled']) await admin.add(`ou=${sub},${ou}`, { objectClass: ['organizationalUnit'], ou: sub });
  const directoryTls = directoryConnectOptions(cfg).tls;
  const connector = new LdapConnector({
    app: 'bench',
    url: cfg.ldap.url,
    // The directory's TLS (ldaps:// or StartTLS with its CA), as the worker's connector has it.
    ...(directoryTls ? { tls: directoryTls } : {}),
    bindDn: cfg.ldap.bindDn,
    bindPassword: () => ldapBindPassword(cfg),
    baseDn: ou,
    peopleDn: `ou=people,${ou}`,
    groupsDn: `ou=groups,${ou}`,
    disable: { mode: 'move', disabledDn: `ou=disabled,${ou}` },
    connections: 4,
  });
  try {
    const groups: string[] = [];
    for (let g = 0; g < GROUPS; g += 1) {
      const group = await connector.ensureEntitlement({ name: `bench-group-${g}` }, call());
      if (group.status === 'action-required') throw new Error(group.message);
      groups.push(group.entitlement.id);
    }
    return await runSuite('LDAP (slapd, 4 connections)', connector, groups);
  } finally {
    await connector.close();
    // Clean up: members out of the groups first, then the subtree deepest first.
    const { searchEntries } = await admin.search(ou, { scope: 'sub', attributes: ['1.1'] });
    for (const dn of searchEntries.map((e) => e.dn).sort((a, b) => b.length - a.length)) await admin.del(dn).catch(() => undefined);
    await admin.unbind();
  }
}

const version = (pkg: string) => {
  try {
    return (JSON.parse(readFileSync(path.join(projectRoot, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
};

const results = [...(await scimBench()), ...(await ldapBench())];
const cpus = os.cpus();
console.log(`\nconnector operations per second: ${OPS} operations each, ${CONCURRENCY} in flight`);
console.log(`node ${process.version}, ldapts ${version('ldapts')}, ${cpus.length} × ${cpus[0]?.model ?? 'cpu'}, ${os.platform()} ${os.release()}\n`);
console.log(`${'connector'.padEnd(36)} ${'operation'.padEnd(36)} ${'ops/s'.padStart(7)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)}  outcomes`);
for (const r of results) {
  console.log(`${r.connector.padEnd(36)} ${r.operation.padEnd(36)} ${String(r.perSecond).padStart(7)} ${r.p50.toFixed(2).padStart(8)} ${r.p99.toFixed(2).padStart(8)}  ${JSON.stringify(r.outcomes)}`);
}
console.log(`\n${JSON.stringify({ bench: 'connectors-ops', at: new Date().toISOString(), ops: OPS, concurrency: CONCURRENCY, node: process.version, cpus: cpus.length, results })}`);

// Reconciliation benchmark (`npm run bench -- reconcile`): N accounts (default 100,000) in a SCIM
// target app and in the directory (slapd), with 1 % seeded drift of each kind
// (lib/reconcile-population.ts), listed page by page through the production connectors
// (connectors/scim, connectors/ldap) and compared with the desired state by the production
// classifier (policy/drift.ts classifyDrift). Prints, per application, the listing rate, the compare
// rate and the listing-plus-compare rate in accounts/s against the 5,000/s goal, and recall and
// precision of the findings against the seeded truth. Never a pass/fail: figures.
//
//   npm run bench -- reconcile [--accounts 100000] [--seed 1] [--scim-page 1000] [--ldap-page 1000]
//                              [--profile standard] [--only scim|ldap] [--json bench/results/<file>.json]
//
// The SCIM app runs as its own process (dist/targets/main.js) on a state file the seeder writes, so
// its CPU is its own; the directory is the bench's own slapd, loaded by slapadd
// (lib/reconcile-seed.ts). Both are stopped and removed at the end, whatever happens.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { collectPages, type Account, type CallContext, type Connector, type ListAccountsCapable } from '../connectors/contract.js';
import { LdapConnector } from '../connectors/ldap/ldap-connector.js';
import { ScimConnector } from '../connectors/scim/scim-connector.js';
import { classifyDrift, countByKind, type DesiredAccount, type DriftFinding } from '../policy/drift.js';
import { ldapBindPassword, loadConfig, projectRoot, type Config } from '../schemas/config.js';
import { writeSlapdConf } from '../stack/slapd.js';
import { freePort, readLivePid, stopPid, waitFor } from '../stack/processes.js';
import { ProcessMeter, machineFacts, sampleStack, stackDelta, versions } from './lib/machine.js';
import { GROUPS, generatePopulation, type Population, type TruthFinding } from './lib/reconcile-population.js';
import { benchOu, directoryLdif, ldapDn, scimGroupId, scimUserId, writeScimState, type BenchOu } from './lib/reconcile-seed.js';

const GOAL = 5_000; // accounts/s, docs/architecture.md#performance

const { values: flags } = parseArgs({
  args: process.argv.slice(2),
  options: {
    accounts: { type: 'string', default: '100000' },
    seed: { type: 'string', default: '1' },
    'scim-page': { type: 'string', default: '1000' },
    'ldap-page': { type: 'string', default: '1000' },
    profile: { type: 'string', default: 'standard' },
    only: { type: 'string' },
    json: { type: 'string' },
    'log-level': { type: 'string', default: 'silent' },
  },
});
const count = Number(flags.accounts);
const seed = Number(flags.seed);
const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;
const secondsSince = (t: bigint) => Number(process.hrtime.bigint() - t) / 1e9;
const log = (line: string) => process.stderr.write(`${line}\n`);

function call(): CallContext {
  return { idempotencyKey: `bench-reconcile/${randomBytes(4).toString('hex')}`, correlationId: 'bench-reconcile', signal: new AbortController().signal };
}

/** What the policy wants each person to have in one application, in that application's ids and attribute names. */
function desiredOf(population: Population, app: string, kind: 'scim' | 'ldap', groupId: (g: number) => string): DesiredAccount[] {
  return population.people.map((p) => {
    const display = `${p.givenName} ${p.familyName}`;
    const attributes: Record<string, string> =
      kind === 'scim'
        ? { userName: p.userName, 'name.givenName': p.givenName, 'name.familyName': p.familyName, displayName: display, emails: p.email, title: p.title }
        : { uid: p.userName, cn: display, sn: p.familyName, givenName: p.givenName, mail: p.email, displayName: display, title: p.title };
    return { employeeId: p.employeeId, app, active: p.active, entitlements: p.groups.map(groupId), attributes, userName: p.userName, email: p.email };
  });
}

/** The seeded truth as finding keys in the application's ids. */
function truthKeys(truth: readonly TruthFinding[], accountId: (key: string) => string, groupId: (g: number) => string): Set<string> {
  return new Set(truth.map((t) => key({ kind: t.kind, employeeId: t.employeeId, accountId: t.kind === 'orphan-account' || t.kind === 'uncorrelated-account' ? accountId(t.accountKey!) : undefined, entitlementId: t.group !== undefined ? groupId(t.group) : undefined, attribute: t.attribute })));
}

function key(f: { kind: string; employeeId?: string | undefined; accountId?: string | undefined; entitlementId?: string | undefined; attribute?: string | undefined }): string {
  return [f.kind, f.employeeId ?? '', f.accountId ?? '', f.entitlementId ?? '', f.attribute ?? ''].join('|');
}

/** A finding as the truth names it: the account only for the kinds whose subject is an account. */
const findingKey = (f: DriftFinding) => key({ ...f, accountId: f.kind === 'orphan-account' || f.kind === 'uncorrelated-account' ? f.accountId : undefined });

type AppResult = Awaited<ReturnType<typeof measure>>;

/** `server`: the pids of the application's own server processes (their CPU during the listing is counted). */
async function measure(app: string, connector: Connector & ListAccountsCapable, pageSize: number, population: Population, desired: DesiredAccount[], truth: Set<string>, server: Record<string, number>) {
  const meter = new ProcessMeter();
  const cpu0 = meter.cpu();
  const stack0 = sampleStack(server);
  let pages = 0;
  const t0 = process.hrtime.bigint();
  const listed: Account[] = await collectPages(async (req) => {
    pages += 1;
    return connector.listAccounts(req, call());
  }, pageSize);
  const listSeconds = secondsSince(t0);
  const listCpu = meter.cpuSince(cpu0);
  const serverCpu = stackDelta(stack0, sampleStack(server));
  const t1 = process.hrtime.bigint();
  const cpu1 = meter.cpu();
  const findings = classifyDrift({ app, desired, listed, correlation: { matchBy: 'userName', adopt: 'automatic' } });
  const compareSeconds = secondsSince(t1);
  const compareCpu = meter.cpuSince(cpu1);
  meter.stop();
  const found = new Set(findings.map(findingKey));
  const truePositives = [...found].filter((k) => truth.has(k)).length;
  const falsePositives = [...found].filter((k) => !truth.has(k));
  const missed = [...truth].filter((k) => !found.has(k));
  const total = listSeconds + compareSeconds;
  const result = {
    app,
    accountsListed: listed.length,
    accountsSeeded: population.accounts.length,
    pages,
    pageSize,
    listSeconds: round(listSeconds, 2),
    compareSeconds: round(compareSeconds, 3),
    listRate: Math.round(listed.length / listSeconds),
    compareRate: Math.round(listed.length / compareSeconds),
    listPlusCompareRate: Math.round(listed.length / total),
    ratioToGoal: round(listed.length / total / GOAL, 2),
    listCpuSeconds: listCpu,
    compareCpuSeconds: compareCpu,
    serverCpuSeconds: serverCpu,
    // Wall-clock rates swing with whatever else runs on the machine; CPU per account does not.
    accountsPerCpuSecond: Math.round(listed.length / (listCpu + compareCpu + Object.values(serverCpu).reduce((sum, s) => sum + (s.cpuSeconds ?? 0), 0))),
    findings: findings.length,
    findingsByKind: countByKind(findings),
    seededPerKind: population.perKind,
    truth: truth.size,
    recall: truth.size === 0 ? 1 : truePositives / truth.size,
    precision: found.size === 0 ? 1 : truePositives / found.size,
    duplicateFindings: findings.length - found.size,
    falsePositivesSample: falsePositives.slice(0, 5),
    missedSample: missed.slice(0, 5),
  };
  log(
    `${app}: listed ${result.accountsListed} accounts in ${result.pages} pages in ${result.listSeconds} s (${result.listRate}/s), ` +
      `compared in ${result.compareSeconds} s (${result.compareRate}/s): listing + compare ${result.listPlusCompareRate} accounts/s = ${result.ratioToGoal}× the ${GOAL}/s goal; ` +
      `recall ${result.recall}, precision ${result.precision} (${result.findings} findings, truth ${result.truth})`,
  );
  return result;
}

async function startScimProcess(dir: string, population: Population): Promise<{ child: ChildProcess; scimUrl: string; token: string; seedSeconds: number }> {
  const t0 = process.hrtime.bigint();
  const stateFile = path.join(dir, 'scim-state.json');
  writeScimState(stateFile, population.accounts);
  const port = await freePort();
  const token = `bench-${randomBytes(12).toString('hex')}`;
  // BENCH_PROFILE (bench/run.sh) profiles the app too: where its listing spends its time.
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`, '--cpu-prof-name=scim-target.cpuprofile'] : [];
  const child = spawn(process.execPath, [...profile, path.join(projectRoot, 'dist', 'targets', 'main.js'), '--name', 'rb-scim', '--port', String(port), '--state-file', stateFile, '--log-level', flags['log-level'], '--profile', flags.profile], {
    env: { ...process.env, SCIM_APP_BEARER_TOKEN: token },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  await waitFor(`SCIM app on ${base}`, () => fetch(`${base}/health`).then((r) => r.ok), { timeoutMs: 120_000, intervalMs: 250, alive: () => child.exitCode === null });
  const basePath = flags.profile === 'base-path' || flags.profile === 'saas' ? '/api/v1/identity/scim' : '/scim/v2';
  return { child, scimUrl: `${base}${basePath}`, token, seedSeconds: round(secondsSince(t0), 1) };
}

/** The bench's own slapd (reconcile-seed.ts says why): the stack's slapd.conf, loaded by slapadd, then started. */
async function startSlapd(cfg: Config, dir: string, population: Population): Promise<{ url: string; pid: number; ou: BenchOu; seedSeconds: number }> {
  const t0 = process.hrtime.bigint();
  const slapdDir = path.join(dir, 'slapd');
  mkdirSync(slapdDir, { recursive: true });
  const conf = writeSlapdConf({ ...cfg, stack: { ...cfg.stack, secure: false } }, slapdDir);
  const name = 'bench-reconcile';
  const ou = benchOu(cfg.ldap.baseDn, name);
  const file = path.join(dir, 'directory.ldif');
  writeFileSync(file, directoryLdif(cfg.ldap.baseDn, ou, population.accounts, name));
  execFileSync('/usr/sbin/slapadd', ['-q', '-f', conf, '-l', file], { stdio: ['ignore', 'ignore', 'inherit'] });
  const port = await freePort();
  const url = `ldap://127.0.0.1:${port}`;
  execFileSync('/usr/sbin/slapd', ['-f', conf, '-h', `${url}/`], { stdio: 'inherit' });
  const pidPath = path.join(slapdDir, 'slapd.pid');
  await waitFor('the bench slapd', async () => readLivePid(pidPath) !== undefined, { timeoutMs: 20_000 });
  return { url, pid: readLivePid(pidPath)!, ou, seedSeconds: round(secondsSince(t0), 1) };
}

async function main(): Promise<void> {
  const cfg = loadConfig();
  const machine = machineFacts();
  log(`reconcile bench: ${count} people, 1 % drift of each kind, seed ${seed}; load average ${machine.loadAverageAtStart.join(' ')}`);
  const t0 = process.hrtime.bigint();
  const population = generatePopulation(count, seed);
  log(`population: ${population.accounts.length} accounts, ${population.truth.length} seeded findings (${round(secondsSince(t0), 1)} s)`);
  const results: AppResult[] = [];
  const seeding: Record<string, number> = {};
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-reconcile-'));
  let child: ChildProcess | undefined;
  let slapdPid: number | undefined;
  try {
    if (flags.only !== 'ldap') {
      const scim = await startScimProcess(dir, population);
      child = scim.child;
      seeding.scimSeconds = scim.seedSeconds;
      log(`SCIM app (${flags.profile}) up on its state file with ${population.accounts.length} users in ${scim.seedSeconds} s`);
      const connector = new ScimConnector({ app: 'rb-scim', baseUrl: scim.scimUrl, bearerToken: () => scim.token, pageSize: Number(flags['scim-page']), timeoutMs: 60_000 });
      const groupId = (g: number) => scimGroupId(g);
      const byKey = new Map(population.accounts.map((a) => [a.key, scimUserId(a)]));
      results.push(await measure('rb-scim', connector, Number(flags['scim-page']), population, desiredOf(population, 'rb-scim', 'scim', groupId), truthKeys(population.truth, (k) => byKey.get(k)!, groupId), { scimApp: child.pid! }));
      await connector.close();
    }
    if (flags.only !== 'scim') {
      const directory = await startSlapd(cfg, dir, population);
      slapdPid = directory.pid;
      seeding.ldapSeconds = directory.seedSeconds;
      log(`directory (own slapd, ${directory.url}) loaded with ${population.accounts.length} entries under ${directory.ou.dn} in ${directory.seedSeconds} s`);
      const at = directory.ou;
      const connector = new LdapConnector({
        app: 'rb-ldap',
        url: directory.url,
        bindDn: cfg.ldap.bindDn,
        bindPassword: () => ldapBindPassword(cfg),
        baseDn: at.dn,
        peopleDn: at.people,
        groupsDn: at.groups,
        disable: { mode: 'move', disabledDn: at.disabled },
        pageSize: Number(flags['ldap-page']),
        timeoutMs: 60_000,
      });
      const groupId = (g: number) => GROUPS[g]!;
      const byKey = new Map(population.accounts.map((a) => [a.key, ldapDn(at, a)]));
      results.push(await measure('rb-ldap', connector, Number(flags['ldap-page']), population, desiredOf(population, 'rb-ldap', 'ldap', groupId), truthKeys(population.truth, (k) => byKey.get(k)!, groupId), { slapd: directory.pid }));
      await connector.close?.();
    }
  } finally {
    if (child?.pid) await stopPid(child.pid, 10_000);
    if (slapdPid !== undefined) await stopPid(slapdPid, 10_000);
    rmSync(dir, { recursive: true, force: true });
  }
  const out = {
    benchmark: 'reconcile',
    at: new Date().toISOString(),
    command: `npm run bench -- reconcile ${process.argv.slice(2).join(' ')}`.trim(),
    settings: { accounts: count, seed, driftShare: 0.01, scimPage: Number(flags['scim-page']), ldapPage: Number(flags['ldap-page']), scimProfile: flags.profile, goalAccountsPerSecond: GOAL },
    machine,
    versions: versions(),
    seeding,
    results,
  };
  if (flags.json) writeFileSync(flags.json, `${JSON.stringify(out, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(out.results.map((r) => ({ app: r.app, listRate: r.listRate, compareRate: r.compareRate, listPlusCompareRate: r.listPlusCompareRate, ratioToGoal: r.ratioToGoal, recall: r.recall, precision: r.precision })), null, 2)}\n`);
}

await main();

// Reconciliation of a SCIM app on the real stack (Kafka, Temporal, PostgreSQL, the SCIM target):
// people hired through Kafka, then the app changed behind our back (a membership removed and
// added, an account disabled, an attribute changed, accounts deleted and made by hand). A dry run
// finds every kind of drift and changes nothing; a real run disables the orphans through the fence,
// has each person's workflow fix what the policy says to fix, leaves what it says to report, and
// audits each finding once. A failed page and a shrunken or empty listing remove nothing, and a
// listing whose worker dies resumes after its last stored page.
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../api/auth.js';
import { startApi } from '../../api/server.js';
import { createApiClient } from '../../cli/api-client.js';
import { registerReconcileCommands } from '../../cli/commands/reconcile.js';
import { CommandFailure, exitStatusOf, failureLine } from '../../cli/failure.js';
import { createLogger } from '../../observability/logger.js';
import { startReconcile } from '../../clients/reconcile.js';
import { reconcileScheduleId } from '../../runtime/reconcile-schedules.js';
import { applicationBackoffRemainingMs, holdApplication, queryAudit, recordApplicationBackoff, releaseApplication, upsertIdentity } from '../../store/index.js';
import { createRun, getRun, listFindings, markWorklist, storeFindings, storePage } from '../../store/reconcile.js';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createConnector, parseConnectorConfig } from '../../connectors/config.js';
import { createApplicationModeReader } from '../../activities/application-modes.js';
import { EntitlementCatalog } from '../../activities/entitlement-catalog.js';
import { createQuarantine } from '../../activities/quarantine.js';
import { createReconcileActivities } from '../../activities/reconcile.js';
import { findingKey } from '../../policy/drift.js';
import type { ReconcileResult } from '../../workflows/reconcile-application.js';
import { getState, identityWorkflowId } from '../../workflows/messages.js';
import { hrEvent } from '../helpers/hr-events.js';
import { eventually, logger, startPipeline, type Pipeline } from '../helpers/pipeline.js';
import { writePolicyYaml } from '../helpers/policy-yaml.js';
import { startTestScimApp } from '../helpers/scim-app.js';
import { uniqueName } from '../helpers/unique.js';

const id = (prefix: string) => uniqueName(prefix).replaceAll('.', '');
const OWNER = id('O');
const [E1, E2, E3, E4, E5, E6] = ['MISSENT', 'EXTRA', 'STATE', 'ATTR', 'ADOPT', 'NOACC'].map((p) => id(p)) as [string, string, string, string, string, string];
const email = (employeeId: string) => `${employeeId.toLowerCase()}@example.com`;
const SCIM_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

function writePolicy(): string {
  return writePolicyYaml(
    'reconcile',
    `approverGroups:
  - { id: chat-owners, members: [${OWNER}] }
applications:
  - id: chat
    connector: scim
    config: chat
    owner: chat-owners
    classification: internal
    correlation: { matchBy: email, adopt: automatic }
    rename: allowed
    attributes: { userName: email, emails: email, title: title }
    entitlements:
      - { id: all-staff }
      - { id: war-room }
    reconcile:
      remediation: { orphan-account: disable-orphans, missing-account: fix, uncorrelated-account: fix, missing-entitlement: fix, wrong-state: fix, attribute-drift: fix }
roles:
  - { id: staff, entitlements: [chat:all-staff] }
birthright:
  - { id: everyone, when: 'employmentType == "employee"', roles: [staff] }
lifecycle: { moverGracePeriod: PT10M, leaverDeletionDelay: P30D, personalDataRetention: P2Y, onLeave: keep }
reconcile: { every: PT2H, pageSize: 2, maxShrink: 0.3 }
`,
  );
}

let p: Pipeline;
beforeAll(async () => {
  p = await startPipeline({ appNames: ['chat'], policyDir: writePolicy(), reconcileSchedules: true });
}, 120_000);
afterAll(async () => {
  await p?.close();
});

const chat = () => p.apps[0]!;
async function userOf(filter: string): Promise<any> {
  const res = await chat().scim('GET', `/Users?filter=${encodeURIComponent(filter)}`);
  return res.body.Resources?.[0];
}
const byExternalId = (employeeId: string) => userOf(`externalId eq "${employeeId}"`);
async function groupId(name: string): Promise<string> {
  const res = await chat().scim('GET', `/Groups?filter=${encodeURIComponent(`displayName eq "${name}"`)}`);
  return res.body.Resources[0].id;
}
async function membersOf(name: string): Promise<string[]> {
  const res = await chat().scim('GET', `/Groups/${await groupId(name)}`);
  return (res.body.members ?? []).map((m: { value: string }) => m.value);
}
const patchGroup = async (name: string, op: 'add' | 'remove', userId: string) => {
  const body = op === 'add' ? { schemas: [PATCH], Operations: [{ op: 'add', path: 'members', value: [{ value: userId }] }] } : { schemas: [PATCH], Operations: [{ op: 'remove', path: `members[value eq "${userId}"]` }] };
  const res = await chat().scim('PATCH', `/Groups/${await groupId(name)}`, { body });
  expect(res.status).toBeLessThan(300);
};
const patchUser = async (userId: string, path: string, value: unknown) => {
  const res = await chat().scim('PATCH', `/Users/${userId}`, { body: { schemas: [PATCH], Operations: [{ op: 'replace', path, value }] } });
  expect(res.status).toBeLessThan(300);
};
async function createUser(body: Record<string, unknown>): Promise<string> {
  const res = await chat().scim('POST', '/Users', { body: { schemas: [SCIM_USER], active: true, ...body } });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

async function reconcile(dryRun = false): Promise<ReconcileResult> {
  const workflowId = await startReconcile(p.ingress.client, p.taskQueue, { app: 'chat', dryRun });
  return p.ingress.client.workflow.getHandle(workflowId).result();
}
const brief = (r: ReconcileResult) => Object.fromEntries(Object.entries(r.counts).filter(([, n]) => n > 0));
const disablesAndRevokes = async (since: number) => (await chat().admin.writes({ since })).filter((w) => /active|remove/i.test(JSON.stringify(w)));
const lastWrite = async () => (await chat().admin.writes()).reduce((m, w) => Math.max(m, (w as { seq: number }).seq), 0);

async function hire(employeeId: string) {
  await p.produce([{ key: employeeId, value: JSON.stringify(hrEvent(employeeId)) }]);
}
async function provisioned(employeeId: string) {
  const handle = p.ingress.client.workflow.getHandle(identityWorkflowId(employeeId));
  await eventually(`${employeeId} provisioned`, async () => ((await handle.query(getState).catch(() => undefined))?.status === 'provisioned' ? true : undefined));
}

let orphanKeyed: string;
let orphanKeyless: string;
let e2Id: string;

describe('reconciling a SCIM app', () => {
  it('the worker keeps a schedule per application at the policy interval', async () => {
    const schedule = await p.ingress.client.schedule.getHandle(reconcileScheduleId(p.taskQueue, 'chat')).describe();
    expect(schedule.spec.intervals).toMatchObject([{ every: 2 * 3_600_000 }]);
    expect(schedule.action).toMatchObject({ type: 'startWorkflow', workflowType: 'reconcileApplication', taskQueue: p.taskQueue, args: [{ app: 'chat' }] });
  });

  it('a dry run finds each kind of drift and changes nothing', async () => {
    for (const e of [E1, E2, E3, E4, E5, E6]) await hire(e);
    for (const e of [E1, E2, E3, E4, E5, E6]) await provisioned(e);
    const [u1, u2, u3, u4, u5, u6] = await Promise.all([E1, E2, E3, E4, E5, E6].map(byExternalId));
    e2Id = u2.id;
    await patchGroup('all-staff', 'remove', u1.id);
    await patchGroup('war-room', 'add', u2.id);
    const lunch = await chat().scim('POST', '/Groups', { body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'lunch-club' } });
    expect(lunch.status).toBe(201);
    await patchGroup('lunch-club', 'add', u2.id);
    await patchUser(u3.id, 'active', false);
    await patchUser(u4.id, 'title', 'Astronaut');
    expect((await chat().scim('DELETE', `/Users/${u5.id}`)).status).toBe(204);
    expect((await chat().scim('DELETE', `/Users/${u6.id}`)).status).toBe(204);
    await createUser({ userName: 'adopt-me', emails: [{ value: email(E5), primary: true }] });
    orphanKeyed = await createUser({ userName: id('orphan'), externalId: id('NOBODY') });
    orphanKeyless = await createUser({ userName: id('handmade'), emails: [{ value: 'nobody@example.org', primary: true }] });

    const before = await lastWrite();
    const run = await reconcile(true);
    expect(run).toMatchObject({ dryRun: true, listingComplete: true, removalsBlocked: [] });
    expect(brief(run)).toEqual({ 'missing-account': 1, 'uncorrelated-account': 1, 'orphan-account': 2, 'missing-entitlement': 1, 'extra-entitlement': 2, 'wrong-state': 1, 'attribute-drift': 1 });
    expect(run.pages).toBe(Math.ceil(run.accounts / 2));
    const findings = await listFindings(p.store.pool, { runId: run.runId });
    const line = (f: (typeof findings)[number]) => `${f.kind} ${f.employeeId ?? f.accountId} ${f.entitlementId ?? f.attribute ?? ''} -> ${f.remediation}`.trim();
    expect(findings.map(line).sort()).toEqual(
      [
        `missing-account ${E6}  -> would fix: re-evaluation asked`,
        `uncorrelated-account ${E5}  -> would fix: re-evaluation asked`,
        `orphan-account ${orphanKeyed}  -> would disable`,
        `orphan-account ${orphanKeyless}  -> would disable`,
        `missing-entitlement ${E1} all-staff -> would fix: re-evaluation asked`,
        `extra-entitlement ${E2} war-room -> report`,
        `extra-entitlement ${E2} lunch-club -> report: the policy does not manage this entitlement`,
        `wrong-state ${E3}  -> would fix: re-evaluation asked`,
        `attribute-drift ${E4} title -> would fix: re-evaluation asked`,
      ].sort(),
    );
    // Nothing written, nothing audited as found: a dry run shows, it does not act.
    expect(await chat().admin.writes({ since: before })).toEqual([]);
    expect(await queryAudit(p.store.pool, p.store.keys.kek, { action: 'drift.found' })).toEqual([]);
    // The listing keeps no personal value in clear.
    const { rows } = await p.store.pool.query(`select * from reconcile_accounts where run_id = $1`, [run.runId]);
    expect(JSON.stringify(rows)).not.toMatch(/example\.(com|org)|Astronaut|adopt-me/);
  });

  it('a real run disables the orphans, fixes through each person\'s workflow, leaves what the policy reports, and audits each finding once', async () => {
    const run = await reconcile();
    expect(run.remediation).toMatchObject({ reevaluated: 5, disabled: 2, rejected: 0, failed: 0 });
    expect((await chat().scim('GET', `/Users/${orphanKeyed}`)).body.active).toBe(false);
    expect((await chat().scim('GET', `/Users/${orphanKeyless}`)).body.active).toBe(false);
    const u1 = await byExternalId(E1);
    await eventually('E1 back in all-staff', async () => ((await membersOf('all-staff')).includes(u1.id) ? true : undefined));
    await eventually('E3 enabled', async () => ((await byExternalId(E3))?.active === true ? true : undefined));
    await eventually('E4 title restored', async () => ((await byExternalId(E4))?.title === 'Engineer' ? true : undefined));
    await eventually('E5 adopted', async () => ((await userOf(`userName eq "adopt-me"`))?.externalId === E5 || (await byExternalId(E5)) ? true : undefined));
    await eventually('E6 has an account again', async () => ((await byExternalId(E6)) ? true : undefined));
    // Reported, not fixed: E2 keeps war-room (the policy reports extra entitlements) and lunch-club.
    expect(await membersOf('war-room')).toContain(e2Id);
    expect(await membersOf('lunch-club')).toContain(e2Id);
    const found = await queryAudit(p.store.pool, p.store.keys.kek, { action: 'drift.found' });
    expect(found).toHaveLength(9);
    expect(await queryAudit(p.store.pool, p.store.keys.kek, { action: 'drift.fix-requested' })).toHaveLength(5);
  });

  it('the next run audits no finding twice and records the fixed ones as resolved', async () => {
    for (const e of [E1, E3, E4, E5, E6]) await provisioned(e);
    const run = await reconcile();
    expect(brief(run)).toEqual({ 'orphan-account': 2, 'extra-entitlement': 2 });
    expect(await queryAudit(p.store.pool, p.store.keys.kek, { action: 'drift.found' })).toHaveLength(9);
    expect(await queryAudit(p.store.pool, p.store.keys.kek, { action: 'drift.resolved' })).toHaveLength(5);
    const orphans = await listFindings(p.store.pool, { app: 'chat', kind: 'orphan-account' });
    expect(orphans.map((f) => f.remediation)).toEqual(['report: already disabled', 'report: already disabled']);
  });

  it('a page that fails stops the removals: a new orphan is not disabled', async () => {
    const orphan = await createUser({ userName: id('late'), externalId: id('NOBODY') });
    const before = await lastWrite();
    // Every request takes a while, so the listing is mid-way when the app starts failing.
    await chat().admin.setFaults({ latencyMs: 300 });
    const workflowId = await startReconcile(p.ingress.client, p.taskQueue, { app: 'chat' });
    await eventually('two pages listed', async () => {
      const { rows } = await p.store.pool.query('select count(*)::int as n from reconcile_pages where run_id = $1', [workflowId]);
      return rows[0].n >= 2 ? true : undefined;
    });
    await chat().admin.setFaults({ errorRate: 1, errorStatus: 503 });
    const run: ReconcileResult = await p.ingress.client.workflow.getHandle(workflowId).result();
    await chat().admin.clearFaults();
    expect(run.listingComplete).toBe(false);
    expect(run.removalsBlocked.join('; ')).toMatch(/the listing did not complete/);
    expect(run.remediation.disabled).toBe(0);
    expect((await chat().scim('GET', `/Users/${orphan}`)).body.active).toBe(true);
    expect(await disablesAndRevokes(before)).toEqual([]);
    const stored = await getRun(p.store.pool, workflowId);
    expect(stored).toMatchObject({ status: 'completed', listingComplete: false });
    expect(stored!.removalsBlocked.map((b) => b.rule)).toContain('failed-page');
  });

  it('a listing waits out the pause the application asked of another call, and shares the Retry-After it is given', async () => {
    // An app of the test's own, listed by the activity itself: no other caller can meet its fault.
    const quiet = await startTestScimApp({ name: 'quiet' });
    try {
      const app = `quiet-${Date.now().toString(36)}`;
      const connectors = new Map([[app, createConnector(parseConnectorConfig({ type: 'scim', app, baseUrl: quiet.scimUrl, auth: { kind: 'bearer', token: { env: 'QUIET_TOKEN' } } }), { env: { QUIET_TOKEN: quiet.bearerToken } })]]);
      const activities = createReconcileActivities({
        policy: () => p.worker.policy,
        connectors,
        catalog: new EntitlementCatalog(connectors),
        store: p.store,
        logger,
        modes: createApplicationModeReader({ db: p.store.pool, planOnly: [], logger }),
        pauses: createQuarantine({ policy: () => p.worker.policy, store: p.store, logger, connectors }).pauses,
        requestFencePermit: async () => ({ permit: 'allowed' }),
      });
      for (let i = 0; i < 3; i++) await quiet.scim('POST', '/Users', { body: { schemas: [SCIM_USER], userName: id(`q${i}`) } });
      const listings = () => quiet.logs.filter((l) => l.msg === 'request' && l.method === 'GET' && String(l.path).endsWith('/Users') && l.filtered !== true).map((l) => ({ at: Date.parse(String(l.time)), status: Number(l.status) }));
      const list = async (name: string) => {
        const runId = `reconcile/${app}/${p.taskQueue}/${id(name)}`;
        await createRun(p.store.pool, { runId, app, dryRun: true, policyVersion: p.worker.policy.version });
        return new MockActivityEnvironment({ workflowExecution: { workflowId: runId, runId: name } }).run(activities.listApplicationAccounts, { runId, app, pageSize: 2 });
      };

      // Another worker's call was told Retry-After: 4 (recorded as activities/quarantine.ts does).
      const pausedAt = Date.now();
      await recordApplicationBackoff(p.store.pool, app, 4_000);
      expect(await list('paused')).toMatchObject({ complete: true, accounts: 3 });
      // The pause is kept on the database's clock: a second of slack.
      expect(listings()[0]!.at).toBeGreaterThanOrEqual(pausedAt + 3_000);

      // The listing's own first page is answered 503 with Retry-After: 3: every worker's calls now wait for it.
      const before = listings().length;
      await quiet.admin.setFaults({ failNext: 1, retryAfterSeconds: 3 });
      const refused = await list('refused').then(() => undefined, (e: unknown) => e);
      expect(refused).toBeInstanceOf(ApplicationFailure);
      expect((refused as ApplicationFailure).nextRetryDelay).toBe(3_000);
      expect(listings().slice(before).map((l) => l.status)).toEqual([503]);
      expect(await applicationBackoffRemainingMs(p.store.pool, app)).toBeGreaterThan(1_500);
    } finally {
      await quiet.close();
    }
  });

  it('a quarantined application is neither listed nor remedied: the run is skipped and says why', async () => {
    const orphan = await createUser({ userName: id('held'), externalId: id('NOBODY') });
    await holdApplication(p.store, { app: 'chat', operatorId: OWNER, reason: 'maintenance window' });
    try {
      const before = await lastWrite();
      const run = await reconcile();
      expect(run).toMatchObject({ pages: 0, accounts: 0, listingComplete: false, remediation: { reevaluated: 0, disabled: 0, rejected: 0, failed: 0 } });
      expect(run.skipped).toMatch(/application held by an operator: nothing listed or remedied/);
      expect(run.removalsBlocked).toEqual([run.skipped]);
      expect(await getRun(p.store.pool, run.runId)).toMatchObject({ status: 'skipped', pages: 0, removalsBlocked: [{ rule: 'quarantined' }] });
      const { rows } = await p.store.pool.query('select count(*)::int as n from reconcile_pages where run_id = $1', [run.runId]);
      expect(rows[0].n).toBe(0);
      expect((await chat().scim('GET', `/Users/${orphan}`)).body.active).toBe(true);
      expect(await disablesAndRevokes(before)).toEqual([]);
    } finally {
      await releaseApplication(p.store, { app: 'chat', actor: { type: 'person', employeeId: OWNER } });
    }
  });

  it('two asks at once start one run: the second is answered 409 with the run going on, and the CLI says so', async () => {
    const jwt = { secret: new TextEncoder().encode(`reconcile-test-${id('s')}-0123456789abcdef`), issuer: 'provisioner', audience: 'provisioner-api' };
    const api = await startApi({ cfg: p.cfg, logger: createLogger({ level: 'silent' }), client: p.ingress.client, store: p.store, port: 0, jwt });
    try {
      const token = await mintToken(jwt, { sub: OWNER, roles: ['operator'], ttl: '5m' });
      const ask = async () => {
        const res = await fetch(`${api.url}/reconcile/chat`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ dryRun: true }) });
        return { status: res.status, body: (await res.json()) as { runId: string; error?: string; reason?: string } };
      };
      // The app answers slowly, so the first run is still listing when the second ask looks (else a fast dry run ends first and both start).
      await chat().admin.setFaults({ latencyMs: 1500 });
      const answers = await Promise.all([ask(), ask()]);
      expect(answers.map((a) => a.status).sort()).toEqual([202, 409]);
      const { runId } = answers.find((a) => a.status === 202)!.body;
      const refused = answers.find((a) => a.status === 409)!.body;
      expect(refused).toMatchObject({ reason: 'reconcile-running', runId });
      expect(refused.error).toBe(`a reconciliation of chat is running: ${runId}; follow it with provisioner drift --run ${runId}`);

      // The CLI: not started, the run named, exit status 1 (a CommandFailure).
      const program = new Command().exitOverride();
      registerReconcileCommands(program, { client: () => createApiClient({ baseUrl: api.url, token }) });
      const cli = await program.parseAsync(['node', 'provisioner', 'reconcile', 'chat', '--no-wait'], { from: 'node' }).then(() => undefined, (err: unknown) => err);
      expect(cli).toBeInstanceOf(CommandFailure);
      expect(failureLine(cli)).toBe(`reconcile chat: not started, a reconciliation of chat is running: ${runId}; follow it with provisioner drift --run ${runId}`);
      expect(exitStatusOf(cli)).toBe(1);

      // Once it has ended, the next ask starts a run of its own.
      await chat().admin.clearFaults();
      await p.ingress.client.workflow.getHandle(runId).result();
      const next = await ask();
      expect(next.status).toBe(202);
      expect(next.body.runId).not.toBe(runId);
      await p.ingress.client.workflow.getHandle(next.body.runId).result();
    } finally {
      await chat().admin.clearFaults();
      await api.close();
    }
  });

  it('a listing that shrank past maxShrink, or came back empty, removes nothing and says why', async () => {
    const everyone = (await chat().scim('GET', '/Users?count=100')).body.Resources as { id: string; active: boolean; externalId?: string }[];
    const orphan = everyone.find((u) => u.active && u.externalId?.startsWith('NOBODY'))!;
    expect(orphan).toBeDefined();
    // Half the accounts vanish from the application (an admin's mistake, a half-restored backup).
    for (const u of everyone.filter((u) => u.id !== orphan.id).slice(0, Math.ceil(everyone.length / 2))) await chat().scim('DELETE', `/Users/${u.id}`);
    const before = await lastWrite();
    const shrunk = await reconcile();
    expect(shrunk.removalsBlocked.join('; ')).toMatch(/shrank by .* more than maxShrink 30\.0 %/);
    expect((await chat().scim('GET', `/Users/${orphan.id}`)).body.active).toBe(true);
    const held = await listFindings(p.store.pool, { runId: shrunk.runId, kind: 'orphan-account' });
    expect(held.find((f) => f.accountId === orphan.id)?.remediation).toMatch(/^held: removals stopped \(shrank\)/);
    expect(await disablesAndRevokes(before)).toEqual([]);

    // Every account gone (once the re-evaluations the shrunken run asked for have settled): the
    // listing is empty where the last complete one was not.
    for (const e of [E1, E2, E3, E4, E5, E6]) await provisioned(e);
    for (const u of (await chat().scim('GET', '/Users?count=100')).body.Resources as { id: string }[]) await chat().scim('DELETE', `/Users/${u.id}`);
    const emptyFrom = await lastWrite();
    const empty = await reconcile(true);
    expect(empty.accounts).toBe(0);
    expect(empty.removalsBlocked.join('; ')).toMatch(/the listing is empty and the last complete one held \d+ accounts/);
    expect(await chat().admin.writes({ since: emptyFrom })).toEqual([]);
  });

  it('a listing whose worker stops mid-way resumes on another worker after its last stored page', async () => {
    for (let i = 0; i < 40; i++) await createUser({ userName: id(`bulk${i}`) });
    // Slow pages (2 accounts each, 2 s a request): the listing (40 s) outlives the stopping worker's 20 s grace.
    await chat().admin.setFaults({ latencyMs: 2000 });
    try {
      const workflowId = await startReconcile(p.ingress.client, p.taskQueue, { app: 'chat', dryRun: true });
      const pagesStored = async () => (await p.store.pool.query('select count(*)::int as n from reconcile_pages where run_id = $1', [workflowId])).rows[0].n as number;
      await eventually('two pages listed', async () => ((await pagesStored()) >= 2 ? true : undefined), 60_000);
      const logsFrom = chat().logs.length;
      const beforeStop = await pagesStored();
      await p.worker.shutdown();
      const atStop = await pagesStored();
      expect(atStop).toBeLessThan(20);
      // The resumed listing may go at full speed: what it shows is where it starts, not how long it takes.
      await chat().admin.clearFaults();
      await p.startWorker();
      const run: ReconcileResult = await p.ingress.client.workflow.getHandle(workflowId).result();
      expect(run).toMatchObject({ listingComplete: true, accounts: 40 });
      // 20 full pages (and the empty one a SCIM listing may end on), each stored once.
      expect(run.pages).toBe(await pagesStored());
      expect(run.pages).toBeGreaterThanOrEqual(20);
      // From here on each page was asked for once, but the one in flight when the worker stopped: a
      // listing started again from its first page would ask for the first pages a second time.
      // (Filtered reads are the earlier tests' identity workflows still planning, not the listing.)
      const listRequests = chat().logs.slice(logsFrom).filter((l) => l.msg === 'request' && l.method === 'GET' && String(l.path).endsWith('/Users') && l.filtered !== true).length;
      expect(listRequests).toBeLessThanOrEqual(run.pages - beforeStop + 1);
      const history = await p.ingress.client.workflow.getHandle(workflowId).fetchHistory();
      const attempts = history.events!.filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes!.attempt);
      expect(Math.max(...attempts.map(Number))).toBeGreaterThanOrEqual(2);
    } finally {
      await chat().admin.clearFaults();
    }
  }, 300_000);

  it('an orphan is read again before it is disabled: one gone, disabled or correlating to someone hired since the listing is left as it is, and says why; a second account of a known person is still disabled', async () => {
    const activities = createReconcileActivities({
      policy: () => p.worker.policy,
      connectors: p.worker.connectors,
      catalog: new EntitlementCatalog(p.worker.connectors),
      store: p.store,
      logger,
      modes: createApplicationModeReader({ db: p.store.pool, planOnly: [], logger }),
      pauses: createQuarantine({ policy: () => p.worker.policy, store: p.store, logger, connectors: p.worker.connectors }).pauses,
      requestFencePermit: async () => ({ permit: 'allowed' }),
    });
    const runId = `reconcile/chat/${p.taskQueue}/${id('reread')}`;
    await createRun(p.store.pool, { runId, app: 'chat', dryRun: false, policyVersion: p.worker.policy.version });
    const gone = await createUser({ userName: id('gone'), externalId: id('NOBODY') });
    const disabled = await createUser({ userName: id('off'), externalId: id('NOBODY') });
    // Keyless, with the e-mail of a person stored after the run started (chat correlates by e-mail): someone hired since the listing.
    const newcomer = id('NEW');
    await p.store.change((tx) => upsertIdentity(tx, { employeeId: newcomer, sequence: 1, effectiveAt: new Date().toISOString(), status: 'active', givenName: 'New', familyName: 'Comer', email: email(newcomer) }), {
      actor: { type: 'system', id: 'test' }, action: 'identity.snapshot-stored', reason: 'hired after the listing', subject: { employeeId: newcomer },
    });
    const hired = await createUser({ userName: id('hired'), emails: [{ value: email(newcomer), primary: true }] });
    // Keyless, with the e-mail of a person the comparison knew (E1, provisioned before the run): a second account of theirs, still an orphan.
    const duplicate = await createUser({ userName: id('dup'), emails: [{ value: email(E1), primary: true }] });
    const orphan = await createUser({ userName: id('still'), externalId: id('NOBODY') });
    const ids = [gone, disabled, hired, duplicate, orphan];
    await storePage(p.store.pool, { runId, pageNo: 0, accounts: ids.map((accountId) => ({ accountId, active: true })) });
    const findings = ids.map((accountId) => ({ app: 'chat', kind: 'orphan-account' as const, accountId, detail: 'no identity correlates' }));
    await storeFindings(p.store.pool, runId, findings.map((f) => ({ ...f, key: findingKey(f), remediation: 'disable' })));
    await markWorklist(p.store.pool, runId, { reevaluate: [], disable: findings.map(findingKey) });
    await chat().scim('DELETE', `/Users/${gone}`);
    await patchUser(disabled, 'active', false);

    const env = new MockActivityEnvironment({ workflowExecution: { workflowId: runId, runId: 'reread' } });
    const page = { runId, app: 'chat', page: 0, limit: 200 };
    expect(await env.run(activities.requestOrphanPagePermit, { ...page, fenceWorkflowId: 'fence/unused', taskQueue: p.taskQueue })).toEqual({ orphans: 5, answer: { permit: 'allowed' } });
    expect(await env.run(activities.disableOrphanPage, page)).toEqual({ disabled: 2, failed: 0 });

    const remediation = Object.fromEntries((await listFindings(p.store.pool, { runId })).map((f) => [f.accountId, f.remediation]));
    expect(remediation).toEqual({
      [gone]: 'not disabled: the account is gone from the application',
      [disabled]: 'not disabled: the account is disabled already',
      [hired]: 'not disabled: the account now correlates to a person hired since the listing',
      [duplicate]: 'disabled (applied)',
      [orphan]: 'disabled (applied)',
    });
    expect((await chat().scim('GET', `/Users/${hired}`)).body.active).toBe(true);
    expect((await chat().scim('GET', `/Users/${duplicate}`)).body.active).toBe(false);
    expect((await chat().scim('GET', `/Users/${orphan}`)).body.active).toBe(false);
    // A retried page disables nothing twice: every orphan left the worklist.
    expect(await env.run(activities.disableOrphanPage, page)).toEqual({ disabled: 0, failed: 0 });
  });
});


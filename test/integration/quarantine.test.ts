// Quarantine of a failing application on the real stack (issue 19 item 5): two SCIM target apps,
// `code` answering 503 to everything. Joiners are provisioned: `code` is quarantined after the
// policy's threshold (audited once), `chat`'s steps complete meanwhile, `code`'s steps wait
// without burning Temporal retries, and once the target recovers the probe releases it and the
// waiting steps complete. An operator's hold (through the API, as the caller) is not released by the
// probe; the operator's release is, and ends the probe; both are audited with the operator.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUARANTINE_MAX_AGE_MS } from '../../activities/quarantine.js';
import { mintToken, type ApiRole, type JwtSettings } from '../../api/auth.js';
import type { QuarantineView } from '../../api/routes/quarantine.js';
import { startApi, type ApiServer } from '../../api/server.js';
import { connectTemporal } from '../../clients/temporal-connection.js';
import { dataConverter } from '../../codec/data-converter.js';
import { loadConfig } from '../../schemas/config.js';
import { ensureSearchAttributes } from '../../stack/temporal.js';
import { applicationQuarantine, queryAudit } from '../../store/index.js';
import { getState, identityWorkflowId, quarantineWorkflowId } from '../../workflows/messages.js';
import { hrEvent } from '../helpers/hr-events.js';
import { hrAttributesYaml } from '../helpers/policy-yaml.js';
import { eventually, logger, startPipeline, type Pipeline } from '../helpers/pipeline.js';
import type { TestScimApp } from '../helpers/scim-app.js';
import { uniqueName } from '../helpers/unique.js';

const THRESHOLD = 3;

function writePolicy(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'policy-quarantine-'));
  writeFileSync(
    path.join(dir, 'policy.yaml'),
    `
${hrAttributesYaml}
approverGroups:
  - { id: owners, members: [OWNER1] }
applications:
  - id: chat
    connector: scim
    config: chat
    owner: owners
    classification: internal
    entitlements: [{ id: all-staff }]
  - id: code
    connector: scim
    config: code
    owner: owners
    classification: internal
    entitlements: [{ id: all-staff }]
    quarantine: { failures: ${THRESHOLD} }
roles:
  - { id: staff, entitlements: [chat:all-staff, code:all-staff] }
birthright:
  - { id: everyone, when: 'employmentType == "employee"', roles: [staff] }
quarantine: { failures: 50, window: PT1M, probeEvery: PT2S }
`,
  );
  return dir;
}

let p: Pipeline;
let chat: TestScimApp;
let code: TestScimApp;
let connection: Connection;
let client: Client;
let api: ApiServer;
const jwt: JwtSettings = { secret: new TextEncoder().encode(`quarantine-secret-${uniqueName('s')}-0123456789abcdef`), issuer: 'provisioner', audience: 'provisioner-api' };

beforeAll(async () => {
  // The QuarantinedApplications search attribute (a stack started before it existed lacks it).
  await ensureSearchAttributes(loadConfig());
  p = await startPipeline({ appNames: ['chat', 'code'], policyDir: writePolicy() });
  [chat, code] = p.apps as [TestScimApp, TestScimApp];
  connection = await connectTemporal(p.cfg);
  client = new Client({ connection, namespace: p.cfg.temporal.namespace, dataConverter: dataConverter(p.cfg.dataDir) });
  api = await startApi({ cfg: p.cfg, logger, client, store: p.store, port: 0, jwt });
}, 120_000);
afterAll(async () => {
  await client?.workflow.getHandle(quarantineWorkflowId(p.cfg.temporal.taskQueue, 'code')).terminate('test finished').catch(() => undefined);
  await api?.close();
  await connection?.close();
  await p?.close();
});

const employee = (prefix: string) => uniqueName(prefix).replaceAll('.', '').replaceAll('-', '').toUpperCase();
const hire = (id: string) => p.produce([{ key: id, value: JSON.stringify(hrEvent(id)) }]);
const userOf = async (app: TestScimApp, id: string) => {
  const res = await app.scim('GET', `/Users?filter=${encodeURIComponent(`externalId eq "${id}"`)}`);
  return res.status === 200 ? (res.body.Resources?.[0] as { id: string; groups?: unknown[] } | undefined) : undefined;
};
const stateOf = (id: string) => client.workflow.getHandle(identityWorkflowId(id)).query(getState);
const audit = async (action: string) => (await queryAudit(p.store.pool, p.store.keys.kek, { action, limit: 1000 })).filter((r) => r.changes.some((c) => c.app === 'code'));

/** A call of the quarantine routes as \`provisioner quarantine\` makes it, as OPS1 with \`roles\`. */
async function call(method: 'GET' | 'POST', route: string, roles: ApiRole[], body?: unknown) {
  const token = await mintToken(jwt, { sub: 'OPS1', roles, ttl: '10m' });
  const res = await fetch(`${api.url}${route}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** The highest attempt any of `app`'s activities reached in the person's history. */
async function maxAttempt(id: string, app: string): Promise<number> {
  const history = await client.workflow.getHandle(identityWorkflowId(id)).fetchHistory();
  const queues = new Map<string, string>();
  let max = 0;
  for (const e of history.events ?? []) {
    if (e.activityTaskScheduledEventAttributes) queues.set(String(e.eventId), e.activityTaskScheduledEventAttributes.taskQueue?.name ?? '');
    const started = e.activityTaskStartedEventAttributes;
    if (started && queues.get(String(started.scheduledEventId))?.includes(`-app-${app}`)) max = Math.max(max, started.attempt ?? 0);
    const failed = e.activityTaskFailedEventAttributes;
    if (failed && queues.get(String(failed.scheduledEventId))?.includes(`-app-${app}`)) max = Math.max(max, 1);
  }
  return max;
}

describe('a failing application is quarantined, waits, and recovers', () => {
  const people = [employee('QA'), employee('QB'), employee('QC')];

  it('quarantines code after its threshold while chat is provisioned, and code steps wait without burning retries', async () => {
    await code.admin.setFaults({ errorRate: 1, errorStatus: 503 });
    for (const id of people) await hire(id);

    // The healthy application carries on.
    for (const id of people) await eventually(`${id}'s chat account`, async () => ((await userOf(chat, id)) ? true : undefined), 90_000);

    // code is quarantined once, audited with its reason.
    const row = await eventually('code quarantined', () => applicationQuarantine(p.store.pool, 'code'), 90_000);
    expect(row.state).toBe('quarantined');
    const quarantined = await audit('application.quarantined');
    expect(quarantined).toHaveLength(1);
    // Workers count concurrently: the failure that crossed the threshold may see one more beside it.
    const counted = /code: (\d+) retryable failures in PT1M \(threshold (\d+); last: TransientError\)/.exec(quarantined[0]!.reason);
    expect(Number(counted?.[2])).toBe(THRESHOLD);
    expect(Number(counted?.[1])).toBeGreaterThanOrEqual(THRESHOLD);
    expect(quarantined[0]!.actor).toBe('system:quarantine');

    // Every person's workflow says it waits for code, and its code activities stopped retrying.
    for (const id of people) {
      const state = await eventually(`${id} waiting for code`, async () => {
        const s = await stateOf(id);
        return s.status === 'waiting-for-application' ? s : undefined;
      }, 60_000);
      expect(state.quarantinedApplications).toEqual(['code']);
      expect(state.accounts.chat).toBeDefined();
    }
    const listed = await eventually('the search attribute lists the waiting workflows', async () => {
      const ids: string[] = [];
      for await (const wf of client.workflow.list({ query: `QuarantinedApplications = 'code' AND TaskQueue = '${p.taskQueue}'` })) ids.push(wf.workflowId);
      return ids.length === people.length ? ids : undefined;
    }, 30_000);
    expect(listed.sort()).toEqual(people.map(identityWorkflowId).sort());
    // Waiting costs a check every probeEvery on the workflow's queue, not connector retries.
    await new Promise((r) => setTimeout(r, 6_000));
    for (const id of people) expect(await maxAttempt(id, 'code')).toBeLessThanOrEqual(THRESHOLD + 1);
    expect(await userOf(chat, people[0]!)).toBeDefined();
  }, 240_000);

  it('releases code by its probe once the target answers, and the waiting steps complete', async () => {
    await code.admin.clearFaults();
    await eventually('the probe releases code', async () => ((await applicationQuarantine(p.store.pool, 'code')) ? undefined : true), 60_000);
    const released = await audit('application.released');
    expect(released.map((r) => r.actor)).toEqual(['system:probe']);
    for (const id of people) {
      const user = await eventually(`${id}'s code account`, () => userOf(code, id), 90_000);
      expect(user.id).toBeTruthy();
      const state = await eventually(`${id} provisioned`, async () => {
        const s = await stateOf(id);
        return s.status === 'provisioned' ? s : undefined;
      }, 60_000);
      expect(state.quarantinedApplications).toBeUndefined();
      expect(state.accounts.code?.accountId).toBe(user.id);
    }
  }, 240_000);

  it('keeps an application an operator holds until the operator releases it, both audited', async () => {
    // An auditor reads the list; holding is an operator's.
    expect((await call('POST', '/quarantine/code/hold', ['auditor'], { reason: 'x' })).status).toBe(403);
    expect((await call('POST', '/quarantine/code/hold', ['operator'], { reason: 'x', operator: 'SOMEONE' })).status).toBe(400);
    const held = await call('POST', '/quarantine/code/hold', ['operator'], { reason: 'vendor maintenance window' });
    expect(held).toEqual({ status: 200, body: { app: 'code', changed: true, previous: null } });
    const listed = await call('GET', '/quarantine', ['auditor']);
    const [view] = listed.body.applications as QuarantineView[];
    expect(view).toMatchObject({ app: 'code', state: 'held', by: 'OPS1', release: 'provisioner quarantine release code --reason "<why>"' });
    // The workers' view of the quarantined applications may be this old: the hold stops the calls that start after it.
    await new Promise((r) => setTimeout(r, QUARANTINE_MAX_AGE_MS + 200));

    const late = employee('QD');
    await hire(late);
    await eventually(`${late}'s chat account`, async () => ((await userOf(chat, late)) ? true : undefined), 90_000);
    await eventually(`${late} waiting for code`, async () => ((await stateOf(late)).status === 'waiting-for-application' ? true : undefined), 60_000);
    // The application is healthy, but held: several probe intervals later it is still held and nothing was written there.
    await new Promise((r) => setTimeout(r, 6_000));
    expect((await applicationQuarantine(p.store.pool, 'code'))?.state).toBe('held');
    expect(await userOf(code, late)).toBeUndefined();

    const probe = client.workflow.getHandle(quarantineWorkflowId(p.cfg.temporal.taskQueue, 'code'));
    expect((await probe.describe()).status.name).toBe('RUNNING');
    const released = await call('POST', '/quarantine/code/release', ['operator'], { reason: 'maintenance over' });
    expect(released.body).toMatchObject({ app: 'code', changed: true, previous: 'held' });
    // The release ends the probe (it may sleep through a lifted pause): the next quarantine starts its own.
    expect((await probe.describe()).status.name).toBe('TERMINATED');
    await eventually(`${late}'s code account`, () => userOf(code, late), 60_000);
    expect((await call('POST', '/quarantine/code/release', ['operator'], { reason: 'again' })).status).toBe(409);
    const holds = await audit('application.quarantine-held');
    expect(holds.map((r) => r.actorEmployeeId)).toEqual(['OPS1']);
    // Newest first.
    const releases = await audit('application.released');
    expect(releases.map((r) => r.actorEmployeeId ?? r.actor)).toEqual(['OPS1', 'system:probe']);
  }, 240_000);
});

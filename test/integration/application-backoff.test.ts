// An application's Retry-After holds every worker's calls (activities/quarantine.ts,
// store/application-backoff.ts), on the real PostgreSQL and a real SCIM target app: two guards
// stand for two worker processes. A 503 with Retry-After given to one worker's call keeps the
// other worker's call from reaching the app until it has passed (the call fails as
// `ApplicationPaused` with the rest of the pause as its next retry delay), and the quarantine's
// probe neither reads the app during the pause nor probes again before it has passed. This is
// what the scim-outage drill found: a quarantine's release sent woken workflows back early. A
// Retry-After longer than the probe interval quarantines the application at once (the steps wait
// durably rather than fail against their deadline). An operator's release lifts the pause for every
// worker; a worker whose write of the pause failed keeps it itself; a pause is kept 7 days at most.
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callContext } from '../../activities/call-context.js';
import { createQuarantine, QUARANTINE_MAX_AGE_MS } from '../../activities/quarantine.js';
import { ScimConnector } from '../../connectors/scim/scim-connector.js';
import { loadPolicyOrThrow } from '../../runtime/policy-source.js';
import { projectRoot } from '../../schemas/config.js';
import { applicationPauses, applicationQuarantine, MAX_APPLICATION_PAUSE_MS, queryAudit, recordApplicationBackoff, recordApplicationFailure, releaseApplication } from '../../store/index.js';
import { APPLICATION_PAUSED, APPLICATION_QUARANTINED } from '../../workflows/messages.js';
import { logger } from '../helpers/pipeline.js';
import { startTestScimApp, type TestScimApp } from '../helpers/scim-app.js';
import { createTestStore, type TestStore } from './store/test-store.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const example = loadPolicyOrThrow(path.join(projectRoot, 'examples', 'policy'));
// The quarantine's probe interval, as each test needs it: a Retry-After longer than it quarantines the application.
let probeEvery = 'PT10S';
const policy = () => ({ ...example, model: { ...example.model, quarantine: { ...example.model.quarantine, probeEvery } } });

let t: TestStore;
let app: TestScimApp;
let worker: [ReturnType<typeof createQuarantine>, ReturnType<typeof createQuarantine>];
let connector: ScimConnector;

beforeAll(async () => {
  t = await createTestStore('backoff');
  app = await startTestScimApp();
  connector = new ScimConnector({ app: 'chat', baseUrl: app.scimUrl, auth: { kind: 'bearer', token: () => app.bearerToken } });
  const deps = { policy, store: t.store, logger, connectors: new Map([['chat', connector]]) };
  worker = [createQuarantine(deps), createQuarantine(deps)];
  // The connector's discovery of the server is done before any fault is set: the faults hit the reads.
  await read(0, 'P0');
}, 60_000);
afterAll(async () => {
  await app?.close();
  await t?.drop();
});

/** Runs `fn` as an activity of the person's workflow (the app's X-Correlation-Id: its caller). */
const asActivityOf = <T>(person: string, fn: () => Promise<T>): Promise<T> => new MockActivityEnvironment({ workflowExecution: { workflowId: `identity/${person}`, runId: 'run' } }).run(fn);
/** One guarded read of an absent person, as `person`'s step would call it through a worker's guard. */
const read = (w: 0 | 1, person: string) => asActivityOf(person, () => worker[w].guard.run('chat', () => connector.getAccount({ employeeId: 'E404' }, callContext(`${person}/read`))));
const probe = (w: 0 | 1) => asActivityOf('probe', () => worker[w].activities.probeApplication({ app: 'chat' }));

describe("an application's Retry-After", () => {
  it("holds the other worker's calls until it has passed, without calling the application", async () => {
    await app.admin.setFaults({ failNext: 1, retryAfterSeconds: 2 });
    await expect(read(0, 'P1')).rejects.toMatchObject({ name: 'TransientError', retryAfterMs: 2_000 });

    const paused = await read(1, 'P1').then(() => undefined, (e: unknown) => e);
    expect(paused).toBeInstanceOf(ApplicationFailure);
    expect((paused as ApplicationFailure).type).toBe(APPLICATION_PAUSED);
    expect((paused as ApplicationFailure).nonRetryable).toBe(false);
    const delay = (paused as ApplicationFailure).nextRetryDelay as number;
    // The rest of the pause, and a spread of at most a fifth of it so the held calls do not all come back at once.
    expect(delay).toBeGreaterThan(0);
    expect(delay).toBeLessThanOrEqual(2_000 * 1.2);
    // ...and the worker that was told waits too.
    expect(await read(0, 'P2').then(() => 'called', (e: ApplicationFailure) => e.type)).toBe(APPLICATION_PAUSED);
    // Nothing reached the app while it had asked for the pause.
    expect((await app.admin.faults()).retryAfter).toMatchObject({ given: 1, breaches: 0, duringAnyRetryAfter: 0 });

    await sleep(delay + 1_050);
    expect(await read(1, 'P1')).toBeUndefined();
    expect((await app.admin.faults()).retryAfter).toMatchObject({ given: 1, breaches: 0, duringAnyRetryAfter: 0 });
  }, 30_000);

  it('keeps the quarantine probe from reading during the pause, and sets its next probe after it', async () => {
    probeEvery = 'PT1S';
    await recordApplicationFailure(t.store, { app: 'chat', errorType: 'TransientError', failures: 1, window: 'PT1M', windowMs: 60_000 });
    await app.admin.setFaults({ failNext: 1, retryAfterSeconds: 5 });
    const failing = await probe(0);
    expect(failing).toMatchObject({ state: 'quarantined', healthy: false, probeEveryMs: 5_000 });
    // The other worker's probe (the next run of the probe workflow may land there) does not read the app.
    const early = await probe(1);
    expect(early.healthy).toBe(false);
    expect(early.probeEveryMs).toBeGreaterThan(1_000);
    expect(early.probeEveryMs).toBeLessThanOrEqual(5_000);
    expect((await app.admin.faults()).retryAfter).toMatchObject({ duringAnyRetryAfter: 0 });

    await sleep(early.probeEveryMs + 50);
    expect(await probe(1)).toMatchObject({ state: 'released', healthy: true, probeEveryMs: 1_000 });
  }, 30_000);

  it('quarantines the application at once when its Retry-After is longer than the probe interval', async () => {
    probeEvery = 'PT1S';
    await app.admin.setFaults({ failNext: 1, retryAfterSeconds: 30 });
    const before = (await app.admin.faults()).retryAfter.duringAnyRetryAfter;
    expect(await read(0, 'P3').then(() => 'called', (e: ApplicationFailure) => e.type)).toBe(APPLICATION_QUARANTINED);
    const row = await applicationQuarantine(t.store.pool, 'chat');
    expect(row?.state).toBe('quarantined');
    expect(row?.reason).toMatch(/^chat asked for a pause of 30 s \(Retry-After\), longer than its probe interval PT1S/);
    // The other worker's step waits in quarantine too, without calling.
    expect(await read(1, 'P4').then(() => 'called', (e: ApplicationFailure) => e.type)).toBe(APPLICATION_QUARANTINED);
    expect((await app.admin.faults()).retryAfter.duringAnyRetryAfter).toBe(before);
  }, 30_000);

  it("lifts the quarantine and the pause for every worker when an operator releases the application, audited", async () => {
    // The application quarantined by a 30 s Retry-After (the test above left it so; run alone, this does).
    probeEvery = 'PT1S';
    await app.admin.setFaults({ failNext: 1, retryAfterSeconds: 30 });
    await read(0, 'P5').catch(() => undefined);
    await app.admin.clearFaults();
    expect((await applicationQuarantine(t.store.pool, 'chat'))?.state).toBe('quarantined');
    const [pause] = await applicationPauses(t.store.pool);
    expect(pause).toMatchObject({ app: 'chat' });
    expect(pause!.remainingMs).toBeGreaterThan(0);
    expect(pause!.remainingMs).toBeLessThanOrEqual(30_000);
    const operator = { type: 'person' as const, employeeId: 'OPS1' };
    const released = await releaseApplication(t.store, { app: 'chat', actor: operator, reason: 'vendor says the maintenance is over' });
    expect(released).toMatchObject({ released: true, previous: 'quarantined', pauseLifted: pause!.until });
    expect(await applicationPauses(t.store.pool)).toEqual([]);
    // The workers' view of the quarantine may be this old; the pause is read on every call.
    await sleep(QUARANTINE_MAX_AGE_MS + 50);
    expect(await read(0, 'P5')).toBeUndefined();
    expect(await read(1, 'P5')).toBeUndefined();
    const [record] = await queryAudit(t.store.pool, t.store.keys.kek, { action: 'application.released' });
    expect(record).toMatchObject({ actorEmployeeId: 'OPS1' });
    expect(record!.reason).toMatch(/^chat released from quarantine \(was quarantined\) and its Retry-After pause until \S+ lifted by an operator/);
    // Nothing left to release: a second release changes nothing and writes no record.
    expect(await releaseApplication(t.store, { app: 'chat', actor: operator, reason: 'again' })).toEqual({ released: false, previous: null });
  }, 30_000);

  it('keeps the pause in the worker that was told when the store cannot record it', async () => {
    probeEvery = 'PT10S';
    // PostgreSQL refuses the write (as a full disk or a lost primary would).
    await t.store.pool.query(`create function refuse_backoff() returns trigger language plpgsql as $$ begin raise exception 'no room'; end $$`);
    await t.store.pool.query('create trigger refuse_backoff before insert on application_backoff for each row execute function refuse_backoff()');
    try {
      await app.admin.setFaults({ failNext: 1, retryAfterSeconds: 2 });
      await expect(read(0, 'P6')).rejects.toMatchObject({ name: 'TransientError', retryAfterMs: 2_000 });
      expect(await applicationPauses(t.store.pool)).toEqual([]);
      expect(await read(0, 'P6').then(() => 'called', (e: ApplicationFailure) => e.type)).toBe(APPLICATION_PAUSED);
    } finally {
      await t.store.pool.query('drop trigger refuse_backoff on application_backoff');
      await t.store.pool.query('drop function refuse_backoff()');
    }
  }, 30_000);

  it('keeps an absurd Retry-After to seven days', async () => {
    await recordApplicationBackoff(t.store.pool, 'absurd', 1e18);
    const [pause] = (await applicationPauses(t.store.pool)).filter((p) => p.app === 'absurd');
    expect(pause!.remainingMs).toBeGreaterThan(MAX_APPLICATION_PAUSE_MS - 60_000);
    expect(pause!.remainingMs).toBeLessThanOrEqual(MAX_APPLICATION_PAUSE_MS);
    await t.store.pool.query(`delete from application_backoff where app = 'absurd'`);
  });
});

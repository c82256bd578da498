// Arming an application on the real stack: `code` starts in plan-only mode (config
// safety.planOnly, here PROVISIONER_PLAN_ONLY) and receives no write; an operator arms it through the
// API (`provisioner apps arm`, with the operator's token) and the next changes write to it, without
// restarting the worker; the `application.armed` record names the operator; a disarm puts it back.
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MODE_MAX_AGE_MS } from '../../activities/application-modes.js';
import { mintToken, type ApiRole, type JwtSettings } from '../../api/auth.js';
import type { ApplicationView } from '../../api/routes/applications.js';
import { startApi, type ApiServer } from '../../api/server.js';
import { createApiClient } from '../../cli/api-client.js';
import { registerAppsCommands } from '../../cli/commands/apps.js';
import { queryAudit } from '../../store/index.js';
import { hrEvent } from '../helpers/hr-events.js';
import { eventually, logger, startPipeline, type Pipeline } from '../helpers/pipeline.js';
import type { TestScimApp } from '../helpers/scim-app.js';
import { writeTestPolicy } from '../helpers/test-policy.js';
import { uniqueName } from '../helpers/unique.js';

const person = (label: string) => uniqueName(label).replaceAll('.', '').replaceAll('-', '');
const OPERATOR = person('Eop');
const AUDITOR = person('Eaud');
const jwt: JwtSettings = { secret: new TextEncoder().encode(`arm-test-${uniqueName('s')}-0123456789abcdef`), issuer: 'provisioner', audience: 'provisioner-api' };
const token = (sub: string, roles: ApiRole[]) => mintToken(jwt, { sub, roles, ttl: '10m' });

let p: Pipeline;
let api: ApiServer;
let chat: TestScimApp;
let code: TestScimApp;
const startedWorker: { current?: unknown } = {};

beforeAll(async () => {
  process.env.PROVISIONER_PLAN_ONLY = 'code';
  p = await startPipeline({ appNames: ['chat', 'code'], policyDir: writeTestPolicy() });
  [chat, code] = p.apps as [TestScimApp, TestScimApp];
  startedWorker.current = p.worker;
  api = await startApi({ cfg: p.cfg, logger, client: p.ingress.client, store: p.store, port: 0, jwt, corsOrigins: [] });
});
afterAll(async () => {
  delete process.env.PROVISIONER_PLAN_ONLY;
  await api?.close();
  await p?.close();
});

/** `provisioner apps ...` as the holder of `bearer`, against the test's API; returns what it printed. */
async function cli(bearer: string, args: string[]): Promise<string> {
  const out: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (out.push(String(chunk)), true));
  const program = new Command().exitOverride().configureOutput({ writeErr: () => undefined });
  registerAppsCommands(program, { client: () => createApiClient({ baseUrl: api.url, token: bearer }) });
  try {
    await program.parseAsync(['node', 'provisioner', 'apps', ...args]);
  } finally {
    vi.mocked(process.stdout.write).mockRestore();
  }
  return out.join('');
}

const post = async (path: string, bearer: string, body: unknown) =>
  fetch(`${api.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

async function outcomeOf(employeeId: string, sequence: number) {
  return eventually(`the outcome of ${employeeId} #${sequence}`, async () =>
    (await p.read(p.cfg.kafka.topics.outcomes)).map((m) => JSON.parse(m.value)).find((o) => o.employeeId === employeeId && o.sequence === sequence),
  );
}

type Step = { app: string; action: string; outcome: string; detail?: string };
const stepsIn = (outcome: { steps: Step[] }, app: string) => outcome.steps.filter((s) => s.app === app);
const writesFor = async (app: TestScimApp, employeeId: string) => (await app.admin.writes()).filter((w) => w.externalId === employeeId);

/** The workers act on modes at most MODE_MAX_AGE_MS old: a change sent after that sees the new mode. */
const pastTheModeCache = () => new Promise((resolve) => setTimeout(resolve, MODE_MAX_AGE_MS + 250));

describe('arming an application', () => {
  it('plan-only until an operator arms it through the API; then the next changes write to it, no restart; a disarm puts it back', async () => {
    // 1. Plan-only by configuration: planned and audited, nothing written.
    const first = person('A');
    await p.produce([{ key: first, value: JSON.stringify(hrEvent(first, { sequence: 1 })) }]);
    const planned = await outcomeOf(first, 1);
    expect(planned.status).toBe('succeeded');
    expect(stepsIn(planned, 'code').length).toBeGreaterThan(0);
    expect(stepsIn(planned, 'code').every((s) => s.outcome === 'planned')).toBe(true);
    expect(await writesFor(code, first)).toEqual([]);
    expect((await writesFor(chat, first)).length).toBeGreaterThan(0);

    // Only operators and admins arm; an application the policy does not name is 404; a reason is required.
    const auditorToken = await token(AUDITOR, ['auditor']);
    expect((await post('/applications/code/arm', auditorToken, { reason: 'go live' })).status).toBe(403);
    const operatorToken = await token(OPERATOR, ['operator']);
    expect((await post('/applications/nope/arm', operatorToken, { reason: 'go live' })).status).toBe(404);
    expect((await post('/applications/code/arm', operatorToken, {})).status).toBe(400);
    expect((await post('/applications/code/arm', operatorToken, { reason: 'go live', operatorId: AUDITOR })).status).toBe(400);

    // 2. The operator arms it, as the caller of their token.
    const armed = await cli(operatorToken, ['arm', 'code', '--reason', 'go live after the pilot review']);
    expect(armed).toContain(`code armed by ${OPERATOR}`);
    expect(await cli(operatorToken, ['arm', 'code', '--reason', 'again'])).toContain('code: already armed');
    const modes = JSON.parse(await cli(auditorToken, ['modes', '--json'])) as ApplicationView[];
    expect(modes.find((a) => a.app === 'code')).toMatchObject({ mode: 'armed', source: 'store', configDefault: 'plan-only', changedBy: OPERATOR, reason: 'go live after the pilot review' });
    expect(modes.find((a) => a.app === 'chat')).toMatchObject({ mode: 'armed', source: 'config' });

    const armRecords = (await queryAudit(p.store.pool, p.store.keys.kek, { app: 'code', limit: 1000 })).filter((r) => r.action === 'application.armed');
    expect(armRecords).toHaveLength(1);
    expect(armRecords[0]).toMatchObject({ actorEmployeeId: OPERATOR, changes: [{ op: 'application.arm', app: 'code', outcome: 'armed' }], personal: { reason: 'go live after the pilot review' } });

    // 3. The next changes write to it: the first person's next change and a new joiner, same worker.
    await pastTheModeCache();
    const joiner = person('B');
    await p.produce([
      { key: first, value: JSON.stringify(hrEvent(first, { type: 'hr.worker.updated', sequence: 2, data: { title: 'Senior Engineer' } })) },
      { key: joiner, value: JSON.stringify(hrEvent(joiner, { sequence: 1 })) },
    ]);
    for (const [id, sequence] of [[first, 2], [joiner, 1]] as const) {
      const outcome = await outcomeOf(id, sequence);
      expect(outcome.status).toBe('succeeded');
      expect(stepsIn(outcome, 'code').find((s) => s.action === 'ensureAccount')?.outcome).toBe('created');
      expect(stepsIn(outcome, 'code').some((s) => s.outcome === 'planned')).toBe(false);
      expect((await writesFor(code, id)).length).toBeGreaterThan(0);
    }
    expect(p.worker).toBe(startedWorker.current);

    // 4. Disarmed: plan-only again for the next change.
    expect(await cli(operatorToken, ['disarm', 'code', '--reason', 'hold for the audit'])).toContain(`code disarmed by ${OPERATOR}`);
    await pastTheModeCache();
    const later = person('C');
    await p.produce([{ key: later, value: JSON.stringify(hrEvent(later, { sequence: 1 })) }]);
    const again = await outcomeOf(later, 1);
    expect(stepsIn(again, 'code').length).toBeGreaterThan(0);
    expect(stepsIn(again, 'code').every((s) => s.outcome === 'planned' && s.detail?.startsWith('plan-only'))).toBe(true);
    expect(await writesFor(code, later)).toEqual([]);
    const disarmRecords = (await queryAudit(p.store.pool, p.store.keys.kek, { app: 'code', limit: 1000 })).filter((r) => r.action === 'application.disarmed');
    expect(disarmRecords).toHaveLength(1);
    expect(disarmRecords[0]).toMatchObject({ actorEmployeeId: OPERATOR, reason: 'code disarmed: plan-only, nothing is written; before: armed (recorded)' });
  });
});

// Plan-only mode and dry runs on the real stack: an application in plan-only mode (config
// safety.planOnly, here PROVISIONER_PLAN_ONLY) receives no write while its plans and audit records
// appear; `provisioner plan` shows the steps an event would produce without publishing it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatPlan, planEvent } from '../../cli/commands/plan.js';
import { hrEventSchema } from '../../schemas/events.js';
import { queryAudit } from '../../store/index.js';
import { getState, identityWorkflowId } from '../../workflows/messages.js';
import { hrEvent } from '../helpers/hr-events.js';
import { eventually, startPipeline, type Pipeline } from '../helpers/pipeline.js';
import type { TestScimApp } from '../helpers/scim-app.js';
import { writeTestPolicy } from '../helpers/test-policy.js';
import { uniqueName } from '../helpers/unique.js';

let p: Pipeline;
let chat: TestScimApp;
let code: TestScimApp;
beforeAll(async () => {
  process.env.PROVISIONER_PLAN_ONLY = 'code';
  p = await startPipeline({ appNames: ['chat', 'code'], policyDir: writeTestPolicy() });
  [chat, code] = p.apps as [TestScimApp, TestScimApp];
});
afterAll(async () => {
  delete process.env.PROVISIONER_PLAN_ONLY;
  await p?.close();
});

describe('plan-only mode and dry runs', () => {
  it('a plan-only app receives no write while its steps are planned, audited and shown in the outcome', async () => {
    expect(p.cfg.safety.planOnly).toEqual(['code']);
    const id = uniqueName('P').replaceAll('.', '');
    await p.produce([{ key: id, value: JSON.stringify(hrEvent(id, { sequence: 1 })) }]);
    const outcome = await eventually('the outcome', async () => (await p.read(p.cfg.kafka.topics.outcomes)).map((m) => JSON.parse(m.value)).find((o) => o.employeeId === id && o.sequence === 1));
    expect(outcome.status).toBe('succeeded');
    const codeSteps = outcome.steps.filter((s: { app: string }) => s.app === 'code');
    expect(codeSteps.length).toBeGreaterThan(0);
    expect(codeSteps.every((s: { outcome: string; detail?: string }) => s.outcome === 'planned' && s.detail?.startsWith('plan-only'))).toBe(true);
    expect(outcome.steps.find((s: { app: string; action: string }) => s.app === 'chat' && s.action === 'ensureAccount').outcome).toBe('created');
    expect((await code.admin.writes()).filter((w) => w.externalId === id)).toEqual([]);
    expect((await chat.admin.writes()).filter((w) => w.externalId === id).length).toBeGreaterThan(0);
    const audit = await queryAudit(p.store.pool, p.store.keys.kek, { employeeId: id });
    const planned = audit.filter((r) => r.action === 'step.planned');
    expect(planned.map((r) => r.changes[0]?.app)).toEqual(codeSteps.map(() => 'code'));
    expect(audit.some((r) => r.action === 'plan.recorded')).toBe(true);
    const state = await p.ingress.client.workflow.getHandle(identityWorkflowId(id)).query(getState);
    expect(Object.keys(state.accounts)).not.toContain('code');
  });

  it('a dry run shows the ordered steps an event would produce and writes nothing', async () => {
    const id = uniqueName('D').replaceAll('.', '');
    const event = hrEventSchema.parse(hrEvent(id, { sequence: 1 }));
    const writesBefore = (await chat.admin.writes()).length;
    const plan = await planEvent({ policy: p.worker.policy, connectors: p.worker.connectors }, event);
    expect(plan.kind).toBe('joiner');
    const actions = plan.steps.map((s) => s.action);
    expect(actions.lastIndexOf('ensureAccount')).toBeLessThan(actions.indexOf('grant'));
    expect(plan.steps.map((s) => s.app)).toEqual(expect.arrayContaining(['chat', 'code']));
    const text = formatPlan(event, plan, ['code']);
    expect(text).toContain(`hr.worker.hired ${id}`);
    expect(text).toMatch(/ensureAccount code.*plan-only/);
    expect((await chat.admin.writes()).length).toBe(writesBefore);
  });
});

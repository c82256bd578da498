// The `manager` attribute end to end on the real stack (issue 16 item 1): with chat and the
// directory mapping `manager: managerId`, a person's account holds their manager's own account
// there (chat: the manager's SCIM id in the enterprise manager.value; the directory: the DN of the
// manager's entry), follows a new manager, and stays as it is when the manager has no account.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Account } from '../../connectors/contract.js';
import { outcomeSchema, type Outcome } from '../../schemas/outcomes.js';
import { hrEvent } from '../helpers/hr-events.js';
import { eventually, startPipeline, type Pipeline } from '../helpers/pipeline.js';
import { writeTestPolicy } from '../helpers/test-policy.js';
import { uniqueName } from '../helpers/unique.js';

const MAPPING = ['chat', 'directory'];

/** The example policy with `manager: managerId` added to chat's and the directory's attribute maps. */
function policyWithManager(): string {
  const dir = writeTestPolicy();
  for (const app of MAPPING) {
    const file = path.join(dir, 'applications', `${app}.yaml`);
    const text = readFileSync(file, 'utf8');
    const withManager = text.replace('\n    attributes:\n', '\n    attributes:\n      manager: managerId\n');
    if (withManager === text) throw new Error(`${file}: no attributes map to add manager to`);
    writeFileSync(file, withManager);
  }
  return dir;
}

let p: Pipeline;
beforeAll(async () => {
  p = await startPipeline({ appNames: ['chat', 'code'], policyDir: policyWithManager() });
});
afterAll(async () => {
  await p?.close();
});

const call = () => ({ idempotencyKey: 'test', correlationId: 'test', signal: AbortSignal.timeout(30_000) });
const employee = (prefix: string) => uniqueName(prefix).replaceAll('.', '');

async function account(app: string, employeeId: string): Promise<Account> {
  const found = await p.worker.connectors.get(app)!.getAccount({ employeeId }, call());
  if (!found) throw new Error(`${employeeId} has no account in ${app}`);
  return found;
}

const send = (id: string, sequence: number, data: Record<string, unknown>, type: 'hr.worker.hired' | 'hr.worker.updated' = 'hr.worker.updated') =>
  p.produce([{ key: id, value: JSON.stringify(hrEvent(id, { type, sequence, data })) }]);

async function outcome(employeeId: string, sequence: number): Promise<Outcome> {
  return eventually(`the outcome of ${employeeId} at sequence ${sequence}`, async () =>
    (await p.read(p.cfg.kafka.topics.outcomes)).map((m) => outcomeSchema.parse(JSON.parse(m.value))).find((o) => o.employeeId === employeeId && o.sequence === sequence),
  );
}

/** What the person's accounts in chat and the directory hold as manager (DNs lower-cased: they compare so). */
async function managers(employeeId: string): Promise<Record<string, string | undefined>> {
  const out: Record<string, string | undefined> = {};
  for (const app of MAPPING) out[app] = (await account(app, employeeId)).attributes?.manager?.toLowerCase();
  return out;
}

/** The handles of the manager's own accounts, as the person's accounts should name them. */
async function handles(managerId: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const app of MAPPING) out[app] = (await account(app, managerId)).id.toLowerCase();
  return out;
}

describe('the manager attribute', () => {
  it("holds the manager's account in each application and follows a new manager; a manager without accounts leaves it", async () => {
    const [first, second, person] = [employee('MGRA'), employee('MGRB'), employee('REPORT')];
    for (const manager of [first, second]) await send(manager, 1, {}, 'hr.worker.hired');
    for (const manager of [first, second]) expect((await outcome(manager, 1)).status).toBe('succeeded');

    await send(person, 1, { managerId: first }, 'hr.worker.hired');
    expect((await outcome(person, 1)).status).toBe('succeeded');
    expect(await managers(person)).toEqual(await handles(first));

    // A new manager: the update steps set the second manager's SCIM id and DN.
    await send(person, 2, { managerId: second });
    const moved = await outcome(person, 2);
    expect(moved.status).toBe('succeeded');
    expect(moved.steps.filter((s) => s.action === 'updateAccount').map((s) => `${s.app} ${s.outcome}`).sort()).toEqual(MAPPING.map((app) => `${app} applied`));
    expect(await managers(person)).toEqual(await handles(second));
    // The code app keeps the default map: no manager there.
    expect((await account('code', person)).attributes?.manager).toBeUndefined();

    // A manager HR names who has no account anywhere: the manager stays as the applications have it.
    await send(person, 3, { managerId: employee('NOBODY'), title: 'Senior Engineer' });
    const unknown = await outcome(person, 3);
    expect(unknown.status).toBe('succeeded');
    expect(await managers(person)).toEqual(await handles(second));
    expect((await account('chat', person)).attributes?.title).toBe('Senior Engineer');
  });
});

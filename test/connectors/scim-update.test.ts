// The SCIM connector's updateAccount against the real target app, beyond the kit: the one write it
// makes (the app's write log), and the user read back whole, so exactly the changed attributes
// differ; a server that does not support PATCH (RFC 7644 §3.5.2: 501) gets one PUT of the whole
// user (§3.5.1) that keeps what it does not change.
import { afterEach, describe, expect, it } from 'vitest';
import { callContext, person } from '../../connectors/conformance/harness.js';
import type { AccountRef, EnsureAccountRequest } from '../../connectors/contract.js';
import { ENTERPRISE_USER } from '../../connectors/scim/attributes.js';
import { ScimConnector } from '../../connectors/scim/scim-connector.js';
import { behaviourOf } from '../../targets/profiles.js';
import { patchOp, startTestScimApp, type TestScimApp } from '../helpers/scim-app.js';

const apps: TestScimApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

const sam = (employeeId: string): EnsureAccountRequest => person(employeeId, employeeId.toLowerCase(), { givenName: 'Sam', familyName: 'Smith', attributes: { title: 'Analyst', department: 'Finance' } });

type User = Record<string, unknown> & { meta?: unknown; name?: Record<string, unknown>; emails?: Array<Record<string, unknown>> };

/** An app, a connector for it, and a user with an attribute only someone else manages (nickName). */
async function withUser(employeeId: string, patch = true) {
  const app = await startTestScimApp({ behaviour: behaviourOf('standard', { patch }) });
  apps.push(app);
  const connector = new ScimConnector({ app: 'crm', baseUrl: app.scimUrl, bearerToken: () => app.bearerToken });
  const { account } = (await connector.ensureAccount(sam(employeeId), callContext())) as { account: AccountRef };
  const body = patch ? patchOp({ op: 'add', path: 'nickName', value: 'Sammy' }) : undefined;
  if (body) expect((await app.scim('PATCH', `/Users/${account.id}`, { body })).status).toBe(204);
  else {
    const current = (await app.scim('GET', `/Users/${account.id}`)).body as User;
    const { meta: _meta, ...rest } = current;
    expect((await app.scim('PUT', `/Users/${account.id}`, { body: { ...rest, nickName: 'Sammy' } })).status).toBe(200);
  }
  const read = async () => (await app.scim('GET', `/Users/${account.id}`)).body as User;
  return { app, connector, account, read };
}

/** The user without what changes on every write. */
const stable = ({ meta: _meta, ...user }: User) => user;

const CHANGES = { 'name.familyName': 'Smith-Jones', emails: 'sam.jones@example.com', department: 'Treasury' };

function expectChanged(before: User, after: User) {
  const { name, emails, [ENTERPRISE_USER]: enterprise, ...rest } = stable(after);
  const { name: oldName, emails: oldEmails, [ENTERPRISE_USER]: oldEnterprise, ...oldRest } = stable(before);
  expect(rest).toEqual(oldRest);
  expect(name).toEqual({ ...oldName, familyName: 'Smith-Jones' });
  expect(emails).toEqual([{ ...oldEmails![0], value: 'sam.jones@example.com' }]);
  expect(enterprise).toEqual({ ...(oldEnterprise as object), department: 'Treasury' });
  expect(rest.nickName).toBe('Sammy');
}

describe('SCIM updateAccount', () => {
  for (const { patch, method, label } of [
    { patch: true, method: 'PATCH', label: 'is one PATCH that changes exactly the changed attributes; a repeat writes nothing' },
    { patch: false, method: 'PUT', label: 'where the server does not support PATCH, is one PUT of the whole user that keeps what it does not change' },
  ]) {
    it(label, async () => {
      const { app, connector, account, read } = await withUser(`E-UPD-${method}`, patch);
      expect((await app.scim('GET', '/ServiceProviderConfig')).body.patch).toEqual({ supported: patch });
      const before = await read();
      const since = (await app.admin.writes()).at(-1)!.seq;
      expect(await connector.updateAccount({ account, changes: CHANGES }, callContext())).toEqual({ status: 'applied' });
      const writes = await app.admin.writes({ since });
      expect(writes.map((w) => `${w.method} ${w.resourceType} ${w.id}`)).toEqual([`${method} User ${account.id}`]);
      expectChanged(before, await read());

      expect(await connector.updateAccount({ account, changes: CHANGES }, callContext())).toEqual({ status: 'already-in-state' });
      expect(await app.admin.writes({ since: writes.at(-1)!.seq })).toEqual([]);
    });
  }
});

describe('SCIM updateAccount of manager (RFC 7643 §4.3)', () => {
  for (const patch of [true, false]) {
    it(`sets the enterprise manager.value to the manager's id and clears it, by ${patch ? 'PATCH' : 'PUT'}, keeping the rest of the extension`, async () => {
      const { connector, account, read } = await withUser(`E-MGR-${patch ? 'PATCH' : 'PUT'}`, patch);
      const { account: boss } = (await connector.ensureAccount(person('E-MGR-BOSS', 'the.boss'), callContext())) as { account: AccountRef };
      const before = await read();
      expect(await connector.updateAccount({ account, changes: { manager: boss.id } }, callContext())).toEqual({ status: 'applied' });
      const after = await read();
      expect(after[ENTERPRISE_USER]).toEqual({ ...(before[ENTERPRISE_USER] as object), manager: { value: boss.id } });
      expect((await connector.getAccount({ employeeId: account.externalId }, callContext()))!.attributes?.manager).toBe(boss.id);

      expect(await connector.updateAccount({ account, changes: { manager: null } }, callContext())).toEqual({ status: 'applied' });
      expect(stable(await read())).toEqual(stable(before));
    });
  }
});

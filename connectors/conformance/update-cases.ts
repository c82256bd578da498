// The conformance kit's attribute-update cases (./kit.ts runs them for every connector): an update
// sets exactly the named attributes, once (a repeat is already-in-state), clears with null, renames
// by the identifier while keeping the account's memberships and state, and a new account carries
// the mapped attributes it was created with, and `manager` holds another account's handle (the id
// the connector gave it). Names are the connector's own (policy/attribute-map.ts).
import { describe, expect, it } from 'vitest';
import { can, type AccountRef, type CallContext, type Connector } from '../contract.js';
import { NotFoundError } from '../errors.js';
import { person } from './harness.js';
import type { ConformanceTarget, UpdateAttributeNames } from './target.js';

function updatable(connector: Connector) {
  if (!can(connector, 'update')) throw new Error(`${connector.app}: the connector lacks the update capability`);
  return connector;
}

export function describeUpdateCases(target: () => Promise<ConformanceTarget>, call: () => CallContext, names: UpdateAttributeNames): void {
  describe('attribute updates', () => {
    async function created(employeeId: string, userName: string) {
      const t = await target();
      const result = await t.connector.ensureAccount(person(employeeId, userName, { familyName: 'Lovelace', attributes: { [names.title]: 'Analyst' } }), call());
      expect(result.status).toBe('created');
      const account = (result as { account: AccountRef }).account;
      const read = async () => (await t.connector.getAccount({ employeeId }, call()))!;
      return { ...t, connector: updatable(t.connector), account, read };
    }

    it('a new account holds the mapped attributes it was created with', async () => {
      const { read } = await created('E-UPD-0', 'mapped.person');
      expect((await read()).attributes).toMatchObject({ [names.identifier]: 'mapped.person', [names.familyName]: 'Lovelace', [names.title]: 'Analyst' });
    });

    it('an update sets exactly the changed attributes, once; a repeat is already-in-state', async () => {
      const { connector, account, read } = await created('E-UPD-1', 'ada.update');
      const before = await read();
      const changes = { [names.familyName]: 'King', [names.email]: 'ada.king@example.com' };
      expect(await connector.updateAccount({ account, changes }, call())).toEqual({ status: 'applied' });
      expect(await connector.updateAccount({ account, changes }, call())).toEqual({ status: 'already-in-state' });
      const after = await read();
      expect(after.attributes).toEqual({ ...before.attributes, ...changes });
      expect({ active: after.active, externalId: after.externalId, entitlements: after.entitlements }).toEqual({ active: before.active, externalId: before.externalId, entitlements: before.entitlements });
    });

    it('null clears an attribute', async () => {
      const { connector, account, read } = await created('E-UPD-2', 'clear.title');
      expect(await connector.updateAccount({ account, changes: { [names.title]: null } }, call())).toEqual({ status: 'applied' });
      expect((await read()).attributes?.[names.title]).toBeUndefined();
      expect(await connector.updateAccount({ account, changes: { [names.title]: null } }, call())).toEqual({ status: 'already-in-state' });
    });

    it('a new identifier renames the same account, which keeps its memberships', async () => {
      const { connector, account, read, createEntitlement } = await created('E-UPD-3', 'before.rename');
      const group = await createEntitlement('update-kit-group');
      await connector.grant!({ account, entitlementId: group }, call());
      const renamed = await connector.updateAccount({ account, changes: { [names.identifier]: 'after.rename' } }, call());
      expect(renamed.status).toBe('applied');
      const after = await read();
      // The answer's handle (or the caller's, when it gives none) is the renamed account's handle: an LDAP DN changes with its uid.
      expect((renamed.account ?? account).id).toBe(after.id);
      expect(after.userName).toBe('after.rename');
      expect(after.externalId).toBe('E-UPD-3');
      expect(await connector.revoke!({ account: { ...account, id: after.id }, entitlementId: group }, call())).toEqual({ status: 'applied' });
    });

    it("manager is set to another account's id, once, and cleared with null", async () => {
      const { connector, account, read } = await created('E-UPD-4', 'has.manager');
      const boss = await connector.ensureAccount(person('E-UPD-4M', 'the.manager'), call());
      const bossId = (boss as { account: AccountRef }).account.id;
      const changes = { [names.manager]: bossId };
      expect(await connector.updateAccount({ account, changes }, call())).toEqual({ status: 'applied' });
      expect(await connector.updateAccount({ account, changes }, call())).toEqual({ status: 'already-in-state' });
      expect((await read()).attributes?.[names.manager]?.toLowerCase()).toBe(bossId.toLowerCase());
      expect(await connector.updateAccount({ account, changes: { [names.manager]: null } }, call())).toEqual({ status: 'applied' });
      expect((await read()).attributes?.[names.manager]).toBeUndefined();
    });

    it('an update of an account that does not exist is NotFoundError', async () => {
      const { connector } = await target();
      const missing = { app: connector.app, id: '', externalId: 'E-UPD-NOBODY' };
      await expect(updatable(connector).updateAccount({ account: missing, changes: { [names.familyName]: 'X' } }, call())).rejects.toBeInstanceOf(NotFoundError);
    });
  });
}

// The connector conformance kit: the same contract tests for every connector, run against its real
// server (docs/architecture.md#conformance-kit). A test file calls `describeConformance(name, setup)` with a function that
// makes a fresh, isolated target (its own SCIM app, its own LDAP OU) with a connector for it, a way
// to read the server without the connector, and a fault injector. Each test gets its own target.
//
// What it holds a connector to:
//   - ensure twice → created, then unchanged; a changed attribute → updated, then unchanged;
//   - update → applied, then already-in-state, exactly the named attributes (./update-cases.ts);
//   - grant twice → applied, then already-in-state; revoke twice likewise; disable, enable and
//     delete likewise, membership surviving a disable and enable;
//   - two racing ensures for one person → one account;
//   - listings complete, without duplicates, over many pages;
//   - hostile values (filter metacharacters, `*)(uid=*`, DN specials, NUL, Unicode look-alikes)
//     touch exactly the intended entry, never the victim next to them;
//   - a userName held by an account we did not create, or a case-only variant of another person's,
//     is action-required and nothing is written; adoption only under an explicit rule, and never of
//     an account carrying another correlation key;
//   - under injected 429s (Retry-After honoured), 5xx, connection resets and "commit then drop the
//     connection", the result converges with exactly one account.
//
// The targets' shape is in ./target.ts, the hostile values in ./hostile-values.ts, the people and the
// simulated activity retry in ./harness.ts.
import { afterEach, describe, expect, it } from 'vitest';
import { can, collectPages, type Account, type AccountRef, type CallContext, type ChangeOutcome } from '../contract.js';
import { InvalidRequestError, NotFoundError } from '../errors.js';
import { asActivity, callContext, person } from './harness.js';
import { HOSTILE_CASES, VICTIM } from './hostile-values.js';
import type { ConformanceOptions, ConformanceTarget } from './target.js';
import { describeUpdateCases } from './update-cases.js';

function expectConverged(status: string) {
  expect(['created', 'updated', 'unchanged']).toContain(status);
}

export function describeConformance(name: string, setup: () => Promise<ConformanceTarget>, options: ConformanceOptions): void {
  const listing = options.listing ?? { accounts: 23, entitlements: 7, pageSize: 5 };
  const readable = options.membershipsReadable ?? true;
  const open: ConformanceTarget[] = [];
  const target = async () => {
    const t = await setup();
    open.push(t);
    return t;
  };
  const call = (): CallContext => callContext(name);

  describe(`${name} conformance`, () => {
    afterEach(async () => {
      await Promise.all(open.splice(0).map((t) => t.close()));
    });

    describe('accounts', () => {
      it('ensure twice: created, then unchanged, with the same account', async () => {
        const { connector, inspect } = await target();
        const first = await connector.ensureAccount(person('E-1', 'ada.lovelace'), call());
        expect(first.status).toBe('created');
        const second = await connector.ensureAccount(person('E-1', 'ada.lovelace'), call());
        expect(second).toEqual({ status: 'unchanged', account: (first as { account: AccountRef }).account });
        expect(await inspect.accountsWithKey('E-1')).toBe(1);
      });

      it('a changed attribute is updated once, then unchanged', async () => {
        const { connector, inspect } = await target();
        await connector.ensureAccount(person('E-2', 'grace.hopper'), call());
        const changed = person('E-2', 'grace.hopper', { familyName: 'Murray Hopper', email: 'grace.h@example.com' });
        expect((await connector.ensureAccount(changed, call())).status).toBe('updated');
        expect((await connector.ensureAccount(changed, call())).status).toBe('unchanged');
        const account = await connector.getAccount({ employeeId: 'E-2' }, call());
        expect(account).toMatchObject({ externalId: 'E-2', userName: 'grace.hopper', email: 'grace.h@example.com', active: true });
        expect(await inspect.accountsWithKey('E-2')).toBe(1);
      });

      it('a renamed userName is updated on the same account', async () => {
        const { connector } = await target();
        const created = await connector.ensureAccount(person('E-3', 'old.name'), call());
        const renamed = await connector.ensureAccount(person('E-3', 'new.name'), call());
        expect(renamed.status).toBe('updated');
        const account = await connector.getAccount({ employeeId: 'E-3' }, call());
        expect(account?.userName).toBe('new.name');
        expect(account?.externalId).toBe((created as { account: AccountRef }).account.externalId);
      });

      it('getAccount finds accounts by the exact correlation key only', async () => {
        const { connector } = await target();
        await connector.ensureAccount(person('E-40', 'exact.key'), call());
        expect(await connector.getAccount({ employeeId: 'E-4' }, call())).toBeUndefined();
        expect(await connector.getAccount({ employeeId: 'E-400' }, call())).toBeUndefined();
        expect(await connector.getAccount({ employeeId: 'e-40' }, call())).toBeUndefined();
        expect((await connector.getAccount({ employeeId: 'E-40' }, call()))?.userName).toBe('exact.key');
      });

      it('two racing ensures for one person make one account', async () => {
        const { connector, inspect } = await target();
        const results = await Promise.all([0, 1, 2].map(() => asActivity((c) => connector.ensureAccount(person('E-RACE', 'race.person'), c), options.retry)));
        const statuses = results.map((r) => r.result.status).sort();
        expect(statuses.filter((s) => s === 'created').length).toBeLessThanOrEqual(1);
        for (const s of statuses) expectConverged(s);
        expect(await inspect.accountsWithKey('E-RACE')).toBe(1);
      });
    });

    describeUpdateCases(target, call, options.attributeNames);

    describe('collisions and adoption', () => {
      it('a userName held by an account we did not create is action-required and left alone', async () => {
        const { connector, inspect, createForeignAccount } = await target();
        const foreign = await createForeignAccount({ userName: 'taken.name', email: 'someone@example.com' });
        const before = await foreign.snapshot();
        const result = await connector.ensureAccount(person('E-TAKER', 'taken.name'), call());
        expect(result.status).toBe('action-required');
        expect((result as { message: string }).message).toMatch(/not taken over/);
        expect(await inspect.accountsWithKey('E-TAKER')).toBe(0);
        expect(await foreign.snapshot()).toEqual(before);
        expect((await connector.ensureAccount(person('E-TAKER', 'taken.name'), call())).status).toBe('action-required');
      });

      // A server that compares userNames case-sensitively (options.userNamesCaseExact) holds the
      // variant as another account; either way the first person's account is never touched.
      it(`a case-only variant of another person's userName is ${options.userNamesCaseExact ? 'another account on a case-exact server' : 'a collision'}`, async () => {
        const { connector, inspect } = await target();
        expect((await connector.ensureAccount(person('E-CASE-A', 'Case.Person'), call())).status).toBe('created');
        const before = await inspect.snapshot('E-CASE-A');
        const variant = await connector.ensureAccount(person('E-CASE-B', 'case.PERSON'), call());
        if (options.userNamesCaseExact) {
          expect(variant.status).toBe('created');
          expect(await inspect.accountsWithKey('E-CASE-B')).toBe(1);
          expect((await connector.getAccount({ employeeId: 'E-CASE-B' }, call()))?.userName).toBe('case.PERSON');
          expect((await connector.ensureAccount(person('E-CASE-A', 'Case.Person'), call())).status).toBe('unchanged');
        } else {
          expect(variant.status).toBe('action-required');
          expect(await inspect.accountsWithKey('E-CASE-B')).toBe(0);
        }
        expect(await inspect.snapshot('E-CASE-A')).toEqual(before);
      });

      it('with an explicit adopt rule, an uncorrelated account with the userName is adopted once', async () => {
        const { connector, inspect, createForeignAccount } = await target();
        await createForeignAccount({ userName: 'legacy.user', email: 'legacy@example.com' });
        const adopted = await connector.ensureAccount(person('E-ADOPT', 'legacy.user', { adopt: { by: 'userName' } }), call());
        expect(adopted).toMatchObject({ status: 'updated', adopted: true });
        expect(await inspect.accountsWithKey('E-ADOPT')).toBe(1);
        expect((await connector.ensureAccount(person('E-ADOPT', 'legacy.user', { adopt: { by: 'userName' } }), call())).status).toBe('unchanged');
      });

      it("an account carrying another person's key is never adopted", async () => {
        const { connector, inspect } = await target();
        await connector.ensureAccount(person('E-OWNER', 'owned.name'), call());
        const before = await inspect.snapshot('E-OWNER');
        const result = await connector.ensureAccount(person('E-THIEF', 'owned.name', { adopt: { by: 'userName' } }), call());
        expect(result.status).toBe('action-required');
        expect(await inspect.accountsWithKey('E-THIEF')).toBe(0);
        expect(await inspect.snapshot('E-OWNER')).toEqual(before);
      });
    });

    describe('entitlements', () => {
      it('grant twice: applied, then already-in-state; revoke twice likewise', async () => {
        const { connector, inspect, createEntitlement } = await target();
        if (!can(connector, 'entitlements')) return;
        const group = await createEntitlement('engineering');
        const { account } = (await connector.ensureAccount(person('E-G1', 'member.one'), call())) as { account: AccountRef };
        expect(await connector.grant({ account, entitlementId: group }, call())).toEqual({ status: 'applied' });
        if (readable) {
          expect(await connector.grant({ account, entitlementId: group }, call())).toEqual({ status: 'already-in-state' });
        } else {
          // Nothing to read the membership from: the add is sent again (idempotent, RFC 7644 §3.5.2.1), and the account says why.
          expect(await connector.grant({ account, entitlementId: group }, call())).toEqual({ status: 'applied' });
          expect((await connector.getAccount({ employeeId: 'E-G1' }, call()))?.entitlementsUnknown).toMatch(/\S/);
        }
        expect(await inspect.isMember('E-G1', group)).toBe(true);
        expect(await connector.revoke({ account, entitlementId: group }, call())).toEqual({ status: 'applied' });
        expect(await connector.revoke({ account, entitlementId: group }, call())).toEqual({ status: 'already-in-state' });
        expect(await inspect.isMember('E-G1', group)).toBe(false);
      });

      it('revoking what was never granted is already-in-state; granting an unknown entitlement is NotFoundError', async () => {
        const { connector, createEntitlement } = await target();
        if (!can(connector, 'entitlements')) return;
        const group = await createEntitlement('never-granted');
        const { account } = (await connector.ensureAccount(person('E-G2', 'member.two'), call())) as { account: AccountRef };
        expect(await connector.revoke({ account, entitlementId: group }, call())).toEqual({ status: 'already-in-state' });
        await expect(connector.grant({ account, entitlementId: 'no-such-group' }, call())).rejects.toBeInstanceOf(NotFoundError);
      });

      it('membership is listed on the account and survives a disable and an enable', async () => {
        const { connector, inspect, createEntitlement } = await target();
        if (!can(connector, 'entitlements') || !can(connector, 'disable') || !can(connector, 'list-accounts')) return;
        const group = await createEntitlement('survivors');
        const { account } = (await connector.ensureAccount(person('E-G3', 'member.three'), call())) as { account: AccountRef };
        await connector.grant({ account, entitlementId: group }, call());
        await connector.disableAccount({ account }, call());
        expect(await inspect.isMember('E-G3', group)).toBe(true);
        await connector.enableAccount({ account }, call());
        expect(await inspect.isMember('E-G3', group)).toBe(true);
        const listed = (await collectPages((p) => connector.listAccounts(p, call()))).find((a) => a.externalId === 'E-G3');
        if (readable) expect(listed?.entitlements).toContain(group);
        else expect(listed).toMatchObject({ entitlementsUnknown: expect.stringMatching(/\S/) });
        // The revoke finds the account wherever it lives now.
        expect(await connector.revoke({ account, entitlementId: group }, call())).toEqual({ status: 'applied' });
      });
    });

    describe('disable, enable, delete', () => {
      it('disable twice and enable twice: applied, then already-in-state', async () => {
        const { connector } = await target();
        if (!can(connector, 'disable')) return;
        const { account } = (await connector.ensureAccount(person('E-D1', 'leaver.one'), call())) as { account: AccountRef };
        // Each answer's handle (or, when it gives none, the caller's) is the account's handle now,
        // even when the verb moved it (an LDAP entry to the disabled OU) or the caller's was stale.
        const handleNow = async (answer: ChangeOutcome, status: ChangeOutcome['status'], active: boolean) => {
          expect(answer.status).toBe(status);
          const found = await connector.getAccount({ employeeId: 'E-D1' }, call());
          expect(found?.active).toBe(active);
          expect((answer.account ?? account).id).toBe(found?.id);
        };
        await handleNow(await connector.disableAccount({ account }, call()), 'applied', false);
        await handleNow(await connector.disableAccount({ account }, call()), 'already-in-state', false);
        await handleNow(await connector.enableAccount({ account }, call()), 'applied', true);
        await handleNow(await connector.enableAccount({ account }, call()), 'already-in-state', true);
      });

      it('ensure with active=false converges a disabled account; a repeat is unchanged', async () => {
        const { connector } = await target();
        if (!can(connector, 'disable')) return;
        const { account } = (await connector.ensureAccount(person('E-D2', 'leaver.two'), call())) as { account: AccountRef };
        expect((await connector.ensureAccount(person('E-D2', 'leaver.two', { active: false }), call())).status).toBe('updated');
        expect((await connector.ensureAccount(person('E-D2', 'leaver.two', { active: false }), call())).status).toBe('unchanged');
        expect(await connector.disableAccount({ account }, call())).toMatchObject({ status: 'already-in-state' });
      });

      it('delete twice: applied, then already-in-state; membership goes with the account', async () => {
        const { connector, inspect, createEntitlement } = await target();
        if (!can(connector, 'delete')) return;
        const { account } = (await connector.ensureAccount(person('E-D3', 'leaver.three'), call())) as { account: AccountRef };
        let group: string | undefined;
        if (can(connector, 'entitlements')) {
          group = await createEntitlement('leavers');
          await connector.grant({ account, entitlementId: group }, call());
        }
        expect(await connector.deleteAccount({ account }, call())).toEqual({ status: 'applied' });
        expect(await connector.deleteAccount({ account }, call())).toEqual({ status: 'already-in-state' });
        expect(await connector.getAccount({ employeeId: 'E-D3' }, call())).toBeUndefined();
        expect(await inspect.accountsWithKey('E-D3')).toBe(0);
        if (group && can(connector, 'entitlements')) {
          expect(await inspect.isMember('E-D3', group)).toBe(false);
          expect(await connector.revoke({ account, entitlementId: group }, call())).toEqual({ status: 'already-in-state' });
        }
      });

      it('disabling an account that does not exist is NotFoundError', async () => {
        const { connector } = await target();
        if (!can(connector, 'disable')) return;
        await expect(connector.disableAccount({ account: { app: connector.app, id: '', externalId: 'E-NOBODY' } }, call())).rejects.toBeInstanceOf(NotFoundError);
      });
    });

    describe('listings', () => {
      it(`listAccounts is complete and without duplicates over pages of ${listing.pageSize}`, async () => {
        const { connector, inspect } = await target();
        if (!can(connector, 'list-accounts')) return;
        const keys = Array.from({ length: listing.accounts }, (_, i) => `E-L${String(i).padStart(3, '0')}`);
        for (const key of keys) await connector.ensureAccount(person(key, `list.${key.toLowerCase()}`), call());
        let pages = 0;
        const listed = await collectPages(async (p) => {
          pages += 1;
          return connector.listAccounts(p, call());
        }, listing.pageSize);
        expect(pages).toBeGreaterThanOrEqual(Math.ceil(listing.accounts / listing.pageSize));
        const ids = listed.map((a: Account) => a.id);
        expect(new Set(ids).size).toBe(ids.length);
        expect(listed.map((a) => a.externalId).sort()).toEqual([...keys].sort());
        expect((await inspect.allKeys()).sort()).toEqual([...keys].sort());
      });

      it(`listEntitlements is complete and without duplicates over pages of ${Math.max(2, listing.pageSize - 2)}`, async () => {
        const { connector, createEntitlement } = await target();
        if (!can(connector, 'entitlements')) return;
        const created: string[] = [];
        for (let i = 0; i < listing.entitlements; i += 1) created.push(await createEntitlement(`group-${i}`));
        const listed = await collectPages((p) => connector.listEntitlements(p, call()), Math.max(2, listing.pageSize - 2));
        const ids = listed.map((e) => e.id);
        expect(new Set(ids).size).toBe(ids.length);
        expect([...ids].sort()).toEqual([...created].sort());
      });
    });

    describe('hostile values touch exactly the intended entry', () => {
      for (const { label, req, mayBeRejected } of HOSTILE_CASES) {
        it(label, async () => {
          const { connector, inspect, createEntitlement } = await target();
          const victim = (await connector.ensureAccount(VICTIM, call())) as { status: string; account: AccountRef };
          expect(victim.status).toBe('created');
          const group = can(connector, 'entitlements') ? await createEntitlement('hostile-group') : undefined;
          const before = await inspect.snapshot(VICTIM.employeeId);

          expect(await connector.getAccount({ employeeId: req.employeeId }, call())).toBeUndefined();
          let result;
          try {
            result = await connector.ensureAccount(req, call());
          } catch (err) {
            if (!mayBeRejected || !(err instanceof InvalidRequestError)) throw err;
            result = undefined; // refused as invalid: fine, as long as nothing was written
          }
          if (result === undefined || result.status === 'action-required') {
            // A look-alike the server folds onto the victim's name is a collision, never a takeover.
            expect(await inspect.accountsWithKey(req.employeeId)).toBe(0);
          } else {
            expect(result.status).toBe('created');
            expect(result.account.id).not.toBe(victim.account.id);
            const found = await connector.getAccount({ employeeId: req.employeeId }, call());
            expect(found?.externalId).toBe(req.employeeId);
            expect(found?.id).toBe(result.account.id);
            expect((await connector.ensureAccount(req, call())).status).toBe('unchanged');
            if (group && can(connector, 'entitlements')) {
              expect(await connector.grant({ account: result.account, entitlementId: group }, call())).toEqual({ status: 'applied' });
              expect(await inspect.isMember(VICTIM.employeeId, group)).toBe(false);
            }
            if (can(connector, 'disable')) {
              expect(await connector.disableAccount({ account: result.account }, call())).toMatchObject({ status: 'applied' });
              expect((await connector.getAccount({ employeeId: VICTIM.employeeId }, call()))?.active).toBe(true);
            }
            if (can(connector, 'list-accounts')) {
              const listed = await collectPages((p) => connector.listAccounts(p, call()));
              expect(listed.filter((a) => a.externalId === req.employeeId)).toHaveLength(1);
              expect(listed.filter((a) => a.externalId === VICTIM.employeeId)).toHaveLength(1);
            }
            if (can(connector, 'delete')) {
              expect(await connector.deleteAccount({ account: result.account }, call())).toEqual({ status: 'applied' });
              expect(await inspect.accountsWithKey(req.employeeId)).toBe(0);
            }
          }
          expect(await inspect.accountsWithKey(VICTIM.employeeId)).toBe(1);
          expect(await inspect.snapshot(VICTIM.employeeId)).toEqual(before);
          expect((await connector.ensureAccount(VICTIM, call())).status).toBe('unchanged');
        });
      }
    });

    describe('faults: the result converges with no duplicate account', () => {
      for (const kind of options.faultKinds) {
        it(`under ${kind}: ensure, grant and revoke converge`, async () => {
          const t = await target();
          if (!t.faults.supported.has(kind)) throw new Error(`the target cannot inject ${kind}, yet faultKinds lists it`);
          const { connector, inspect, faults } = t;
          const group = can(connector, 'entitlements') ? await t.createEntitlement('faulty') : undefined;
          // A connector's first call may learn what the server does (SCIM discovery): done before
          // the faults, which are meant for the verbs.
          await connector.getAccount({ employeeId: 'E-F0' }, call());

          await faults.inject(kind, 2);
          const ensured = await asActivity((c) => connector.ensureAccount(person('E-F1', 'fault.person'), c), options.retry);
          expect(await faults.fired(kind)).toBeGreaterThan(0);
          expectConverged(ensured.result.status);
          expect(ensured.attempts).toBeGreaterThan(1);
          if (kind === 'rate-limit') {
            // Every retry after a 429 waited at least as long as Retry-After asked.
            const throttled = ensured.retries.filter((r) => r.retryAfterMs !== undefined);
            expect(throttled.length).toBeGreaterThan(0);
            for (const r of throttled) expect(r.delayMs).toBeGreaterThanOrEqual(r.retryAfterMs!);
          }
          await faults.clear();
          expect(await inspect.accountsWithKey('E-F1')).toBe(1);
          expect((await connector.ensureAccount(person('E-F1', 'fault.person'), call())).status).toBe('unchanged');

          if (group && can(connector, 'entitlements')) {
            const account = (ensured.result as { account: AccountRef }).account;
            await faults.inject(kind, 1);
            const granted = await asActivity((c) => connector.grant({ account, entitlementId: group }, c), options.retry);
            expect(['applied', 'already-in-state']).toContain(granted.result.status);
            await faults.clear();
            expect(await inspect.isMember('E-F1', group)).toBe(true);

            await faults.inject(kind, 1);
            const revoked = await asActivity((c) => connector.revoke({ account, entitlementId: group }, c), options.retry);
            expect(['applied', 'already-in-state']).toContain(revoked.result.status);
            await faults.clear();
            expect(await inspect.isMember('E-F1', group)).toBe(false);
          }
          expect(await inspect.accountsWithKey('E-F1')).toBe(1);
        });
      }
    });
  });
}

// What a reconciliation compares an application's listing with: for every identity in the store,
// what the policy wants them to hold there (policy/evaluator.ts on their stored snapshot, with
// their approved, unexpired grants), in the shape of policy/drift.ts. Personal values (the
// correlation values and the mapped attributes) go through `digest` before they leave this
// function, so the comparison sees digests on both sides and never the values.
// Pure: the policy, the people and the digest functions in, DesiredAccount[] out.
import { accountAttributes } from './attribute-sync.js';
import { IDENTIFIER } from './attribute-map.js';
import type { CompiledPolicy } from './compile.js';
import { prehireOf } from './dated.js';
import type { DesiredAccount } from './drift.js';
import { evaluateIdentity, type Grant } from './evaluator.js';
import type { Identity } from './identity.js';
import { MANAGER } from './manager-attribute.js';

export type ReconcilePerson = {
  identity: Identity;
  /** Approved grants (requests, exceptions); expired ones are ignored by the evaluator. */
  grants: readonly Grant[];
  /** Entitlements (`app:id`) the person holds now, as far as known: what is not among them is new. */
  current?: readonly string[];
};

export type DesiredDigests = {
  /** Correlation values, normalised for comparison (trimmed, NFC, lower-case) before digesting. */
  correlation(kind: 'userName' | 'email', value: string): string;
  /** A mapped attribute's value (normalised by the attribute map) under the attribute's name. */
  attribute(name: string, value: string): string;
};

export function desiredAccounts(policy: CompiledPolicy, input: { app: string; people: readonly ReconcilePerson[]; now: string; digest: DesiredDigests }): DesiredAccount[] {
  const { app, now, digest } = input;
  const decl = policy.applications.get(app);
  if (!decl) throw new RangeError(`the policy has no application ${app}`);
  const map = policy.attributeMaps.get(app);
  const onLeaveDisables = policy.model.lifecycle.onLeave === 'disable';
  const out: DesiredAccount[] = [];
  for (const { identity, grants, current } of input.people) {
    if (identity.status === undefined) continue;
    const values = map ? accountAttributes(policy, identity, [app])[app] ?? {} : {};
    const userName = map ? values[IDENTIFIER[map.connector]] : undefined;
    const correlation = {
      ...(typeof userName === 'string' ? { userName: digest.correlation('userName', userName) } : {}),
      ...(typeof identity.email === 'string' && identity.email.trim() !== '' ? { email: digest.correlation('email', identity.email) } : {}),
    };
    const base = { employeeId: identity.employeeId, app, ...correlation };
    // A leaver, or someone on a leave that disables: any account they have should be disabled.
    if (identity.status === 'terminated' || (identity.status === 'on-leave' && onLeaveDisables)) {
      out.push({ ...base, active: false, entitlements: [] });
      continue;
    }
    const desired = evaluateIdentity(policy, { identity, grants, current: current ?? [], now });
    // A future start: the account is made disabled and enabled at the start, so no enabled account is due yet.
    if (!desired.applications.includes(app) || prehireOf(policy, identity, now)) {
      out.push({ ...base, active: false, entitlements: [] });
      continue;
    }
    const attributes: Record<string, string> = {};
    if (map?.declared) {
      // The manager is a handle per application, resolved when a plan is made: not compared here.
      for (const [name, value] of Object.entries(values)) if (value !== null && name !== MANAGER) attributes[name] = digest.attribute(name, value);
    }
    out.push({
      ...base,
      active: true,
      entitlements: desired.entitlements.filter((e) => e.app === app).map((e) => e.id),
      ...(map?.declared ? { attributes } : {}),
    });
  }
  return out;
}

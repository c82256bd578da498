// Planning: what the person should have (the policy on their snapshot and their request grants)
// against what each application reports they have. `planFor` is the one planning function: the
// planChange activity and the CLI's dry run (`provisioner plan`) both call it.
//
// The identity workflow plans in three steps (workflows/plan-change.ts): `preparePlan` stores the
// change's snapshot and names the applications to read; `readAccount` runs on each application's
// own task queue (rate-limited like its writes, all applications at once); `planChange` plans on
// what they reported. Histories from before that call `planChange` alone, which reads in process.
import { ApplicationFailure } from '@temporalio/common';
import type { Connector } from '../connectors/contract.js';
import type { Logger } from '../observability/logger.js';
import type { CompiledPolicy } from '../policy/compile.js';
import type { Identity } from '../policy/identity.js';
import type { Grant } from '../policy/evaluator.js';
import type { DuplicateValue } from '../policy/data-quality.js';
import type { ManagerAccounts } from '../policy/manager-attribute.js';
import { holdAccountsForApprovals } from '../policy/least-privilege.js';
import { sequenceJumpHold } from '../policy/sequence-jump.js';
import { planIdentity, type ActualAccount, type Plan, type PlanStep } from '../policy/planner.js';
import type { WorkerSnapshot } from '../schemas/events.js';
import { listGrants, recordPlan, upsertIdentity, type Grant as StoredGrant, type Store } from '../store/index.js';
import { storedSnapshot } from './approvals.js';
import { activityWorkflowId, callContext } from './call-context.js';
import { applicationsToRead, readActualAccount, readActualAccounts } from './actual-accounts.js';
import { duplicatesOf } from './duplicates.js';
import { readManagerAccounts } from './manager-accounts.js';
import type { EntitlementCatalog } from './entitlement-catalog.js';
import type { QuarantineGuard } from './quarantine.js';
import type { PlanChangeInput, PlannedChange, ApplicationsToRead, ReadAccountInput } from './lifecycle-types.js';
import { IDENTITY_WORKFLOW_ACTOR as SYSTEM } from './lifecycle-types.js';


export type PlanFor = {
  identity: Identity;
  /** What each application reports the person has. */
  actual: readonly ActualAccount[];
  /** The person's request grants (a dry run has none: they live in the store). */
  grants?: readonly Grant[];
  now: string;
  /** Whether a connector serves the application: steps of the others cannot be acted on. */
  served: (app: string) => boolean;
  /** The person's values that other people claim too (activities/duplicates.ts). */
  duplicates?: readonly DuplicateValue[];
  /** The manager's account handle per application that maps `manager` (activities/manager-accounts.ts). */
  managerAccounts?: ManagerAccounts;
};

/** The plan the identity workflow applies: the policy's plan, less what nobody can act on. */
export function planFor(policy: CompiledPolicy, input: PlanFor): Plan {
  const grants = input.grants ?? [];
  const { plan } = planIdentity(policy, { identity: input.identity, actual: input.actual, grants, now: input.now, ...(input.duplicates ? { duplicates: input.duplicates } : {}), ...(input.managerAccounts ? { managerAccounts: input.managerAccounts } : {}) });
  // An entitlement an approved request brings went through its approval chain (separation of
  // duties reviews included) in the request workflow: the identity workflow does not ask again.
  const requested = new Set(grants.map((g) => g.entitlement));
  const settled = (s: PlanStep): PlanStep => {
    if (s.action !== 'grant' || !s.approvals || !requested.has(`${s.app}:${s.entitlementId}`)) return s;
    const { approvals: _approved, ...rest } = s;
    return rest;
  };
  const { held: all, ...rest } = plan;
  const held = all?.filter((h) => h.app === undefined || input.served(h.app)) ?? [];
  // A request's grant needs no approval here, so its application's account is made at once.
  return { ...rest, steps: holdAccountsForApprovals(plan.steps.filter((s) => input.served(s.app)).map(settled)), ...(held.length > 0 ? { held } : {}) };
}

/** A stored grant as the evaluator reads it (policy/evaluator.ts Grant). */
export const asPolicyGrant = (g: StoredGrant): Grant => ({ id: g.grantId, entitlement: `${g.app}:${g.entitlementId}`, grantedAt: g.grantedAt.toISOString(), ...(g.expiresAt ? { expiresAt: g.expiresAt.toISOString() } : {}) });

/** The store's live grants as the policy sees them: approved requests and exceptions (birthright grants are the policy's own). */
export function policyGrants(grants: readonly StoredGrant[]): Grant[] {
  return grants.filter((g) => g.provenance.kind !== 'birthright').map(asPolicyGrant);
}

/** A step as the store keeps it: the attribute names of an update, not the person's values. */
function withoutValues(step: PlanStep): Omit<PlanStep, 'attributes'> & { attributes?: string[] } {
  if (!step.attributes) return step as Omit<PlanStep, 'attributes'>;
  return { ...step, attributes: Object.keys(step.attributes).sort() };
}

export type PlanActivityDeps = {
  policy: () => CompiledPolicy;
  /**
   * The policy to plan a change with (runtime/policy-source.ts forChange): the policy in force, or,
   * for a rollout's re-evaluation of a version the poll has not seen yet, that version.
   */
  policyFor: (changeId?: string) => Promise<CompiledPolicy>;
  connectors: ReadonlyMap<string, Connector>;
  catalog: EntitlementCatalog;
  store: Store;
  logger: Logger;
  /** A quarantined application is not read (activities/quarantine.ts). */
  quarantine?: QuarantineGuard;
};

export function createPlanActivities(deps: PlanActivityDeps) {
  const { store } = deps;
  const { policyFor } = deps;

  /**
   * The change's snapshot: stored (audited when new) when the change brings one and `store` is set,
   * else the stored one.
   */
  async function snapshotOf(input: PlanChangeInput, workflowId: string, options: { store: boolean }): Promise<WorkerSnapshot> {
    const { employeeId } = input;
    // A change without an HR event (a grant, its expiry, a revoke request) plans on the stored snapshot.
    const snapshot = input.snapshot ?? (await storedSnapshot(store, employeeId));
    if (!snapshot) throw ApplicationFailure.create({ type: 'UnknownIdentity', message: `no HR snapshot is stored for ${employeeId}: nothing to plan from`, nonRetryable: true });
    if (input.snapshot && options.store) {
      await store.change(
        async (tx) => ({ changed: (await upsertIdentity(tx, snapshot)).stored }),
        (r: { changed: boolean }) => (r.changed ? { actor: SYSTEM, action: 'identity.snapshot-stored', reason: `${input.eventType} sequence ${snapshot.sequence}`, subject: { employeeId }, eventId: input.changeId, workflowId, changes: [{ op: 'status', outcome: snapshot.status }] } : null),
      );
    }
    return snapshot;
  }

  return {
    /** Stores the change's snapshot and names the applications whose accounts the plan reads. */
    async preparePlan(input: PlanChangeInput): Promise<ApplicationsToRead> {
      const policy = await policyFor(input.changeId);
      // Checked before the snapshot is stored: a held snapshot must not become the stored baseline.
      if (input.snapshot && input.appliedSequence !== undefined && !input.acceptSequenceJump) {
        const hold = sequenceJumpHold({ appliedSequence: input.appliedSequence, sequence: input.snapshot.sequence, maxJump: policy.model.lifecycle.maxSequenceJump });
        if (hold !== undefined) return { apps: [], hold };
      }
      await snapshotOf(input, activityWorkflowId(), { store: true });
      return { apps: applicationsToRead(policy, deps.connectors) };
    },

    /** The applications whose accounts a plan or an assessment reads (an access request's assessment). */
    async listApplicationsToRead(): Promise<ApplicationsToRead> {
      return { apps: applicationsToRead(deps.policy(), deps.connectors) };
    },

    /** The person's account in one application as it reports it (runs on the application's task queue). */
    async readAccount(input: ReadAccountInput): Promise<ActualAccount | null> {
      const read = () => readActualAccount(deps.connectors, deps.catalog, input.app, input.employeeId, callContext(input.idempotencyKey));
      return deps.quarantine ? deps.quarantine.run(input.app, read) : read();
    },

    /** Plans the change on `actual` (read through the applications' queues), or, for older histories, on what it reads itself. */
    async planChange(input: PlanChangeInput): Promise<PlannedChange> {
      const policy = await policyFor(input.changeId);
      const workflowId = activityWorkflowId();
      const { employeeId } = input;
      // With `actual` (read through the queues), preparePlan has stored the change's snapshot already.
      const snapshot = await snapshotOf(input, workflowId, { store: input.actual === undefined });
      const actual = input.actual ?? (await readActualAccounts(policy, deps.connectors, deps.catalog, employeeId, callContext(`${input.changeId}/plan`)));
      const grants = policyGrants(await listGrants(store.pool, employeeId));
      const duplicates = await duplicatesOf(store, snapshot);
      const managerAccounts = await readManagerAccounts(policy, deps.connectors, snapshot as Identity, (app) => callContext(`${input.changeId}/manager/${app}`));
      const plan = planFor(policy, { identity: snapshot as Identity, actual, grants, now: new Date().toISOString(), served: (app) => deps.connectors.has(app), duplicates, managerAccounts });
      const recorded = await store.change(
        (tx) => recordPlan(tx, { changeId: `${workflowId}/${input.changeId}`, employeeId, eventId: input.changeId, sequence: snapshot.sequence, policyVersion: plan.policyVersion, steps: plan.steps.map(withoutValues) }),
        (r: { created: boolean }) => (r.created ? { actor: SYSTEM, action: 'plan.recorded', reason: `${plan.kind}: ${plan.steps.length} steps`, subject: { employeeId }, eventId: input.changeId, workflowId, policyVersion: plan.policyVersion, changes: plan.steps.map((s) => ({ op: s.action, app: s.app, ...(s.entitlementId ? { entitlement: s.entitlementId } : {}) })) } : null),
      );
      // Audited once per detection: with the plan's first recording, not on a retry of this activity.
      if (plan.held && recorded.result.created) {
        // The reasons name the other people claiming a value: sealed under this person's key, never in the clear chain.
        await store.audit({ actor: SYSTEM, action: 'identity.held', reason: `data quality: ${plan.held.length} hold(s)`, personal: { reasons: plan.held.map((h) => h.reason) }, subject: { employeeId }, eventId: input.changeId, workflowId, policyVersion: plan.policyVersion, changes: plan.held.map((h) => ({ op: 'hold', ...(h.app ? { app: h.app } : {}) })) });
      }
      deps.logger.info({ employeeId, workflowId, kind: plan.kind, steps: plan.steps.length, held: plan.held?.length ?? 0, policyVersion: plan.policyVersion }, 'planned');
      return { ...plan, snapshot };
    },
  };
}

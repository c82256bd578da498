// The side effects the workflows call, built from their dependencies (createActivities(deps)),
// one file per concern: planning (plan.ts), the connector calls of the steps (steps.ts), the fence
// (fence.ts), the outcome's record (record.ts) and its publication (publish.ts), and the access
// requests' and approval gates' bookkeeping (approvals.ts). Every change to a target goes through
// the store's audited step: the intent is recorded before the connector is called, and nothing is
// called when it cannot be recorded (fail closed).
import type { Client } from '@temporalio/client';
import type { Connector } from '../connectors/contract.js';
import type { Logger } from '../observability/logger.js';
import type { CompiledPolicy } from '../policy/compile.js';
import type { Outcome } from '../schemas/outcomes.js';
import type { Store } from '../store/index.js';
import { createApplicationModeReader, type ApplicationModeReader } from './application-modes.js';
import { createApprovalActivities } from './approvals.js';
import { EntitlementCatalog } from './entitlement-catalog.js';
import { createFenceActivities } from './fence.js';
import { createPlanActivities } from './plan.js';
import { createPublishActivities } from './publish.js';
import { createReconcileActivities } from './reconcile.js';
import { createRecordActivities } from './record.js';
import { createQuarantine } from './quarantine.js';
import { createStepActivities } from './steps.js';

export type ActivityDeps = {
  /** The policy in force (the newest applied version, polled by runtime/policy-source.ts). */
  policy: () => CompiledPolicy;
  /**
   * The policy for a change's plan (runtime/policy-source.ts forChange): `policy`, or a newer version
   * a rollout's re-evaluation names: the one answer to "which policy for this plan" (default: `policy`).
   */
  policyFor?: (changeId?: string) => Promise<CompiledPolicy>;
  connectors: ReadonlyMap<string, Connector>;
  store: Store;
  publishOutcome: (outcome: Outcome) => Promise<void>;
  logger: Logger;
  /**
   * Safety rails (config `safety`): the default plan-only applications (an operator's `apps arm |
   * disarm`, recorded in the store, overrides it per application) and an operator's population
   * estimate (the release rule is the policy's).
   */
  safety?: { planOnly: readonly string[]; populationEstimate?: number; fenceRecheckSeconds?: number };
  /** Which applications are plan-only now (default: config `safety.planOnly` overridden by the store's modes, re-read every 2 s). */
  applicationModes?: ApplicationModeReader;
  /** The worker's Temporal client and base queue: quarantine probes are started and waiting workflows woken with it. */
  temporal?: { client: Client; taskQueue: string };
  /** An application's rate on its queue (activities a second): what a page of a reconciliation's orphan disables keeps to. */
  appRate?: (app: string) => number;
};

export function createActivities(deps: ActivityDeps) {
  const { store, logger, connectors, policy } = deps;
  // The one answer to "which policy for this change" (planning; reconciliation's comparison may take it too).
  const policyFor = deps.policyFor ?? (async () => policy());
  // Read on every step (cached for at most 2 s): an arm takes effect without a restart. A store
  // that cannot be read fails the activity, which Temporal retries (fail closed, never a guess).
  const modes = deps.applicationModes ?? createApplicationModeReader({ db: store.pool, planOnly: deps.safety?.planOnly ?? [], logger });
  const catalog = new EntitlementCatalog(connectors);
  const populationEstimate = deps.safety?.populationEstimate;
  const fenceRecheckSeconds = deps.safety?.fenceRecheckSeconds;
  // Quarantined applications are not called; retryable failures count toward their quarantine (activities/quarantine.ts).
  const quarantine = createQuarantine({ policy, store, logger, connectors, ...(deps.temporal ? { temporal: deps.temporal } : {}) });
  const fence = createFenceActivities({ policy, store, logger, ...(populationEstimate !== undefined ? { populationEstimate } : {}), ...(fenceRecheckSeconds !== undefined ? { recheckMs: fenceRecheckSeconds * 1000 } : {}) });
  return {
    ...createApprovalActivities({ policy, connectors, store, logger, catalog }),
    ...createPlanActivities({ policy, connectors, catalog, store, logger, quarantine: quarantine.guard, policyFor }),
    ...createStepActivities({ connectors, catalog, store, logger, modes, quarantine: quarantine.guard }),
    ...quarantine.activities,
    ...fence,
    ...createRecordActivities({ store }),
    ...createPublishActivities(deps),
    ...createReconcileActivities({ policy, connectors, catalog, store, logger, modes, pauses: quarantine.pauses, requestFencePermit: fence.requestFencePermit, ...(deps.appRate ? { appRate: deps.appRate } : {}) }),
  };
}

export type Activities = ReturnType<typeof createActivities>;

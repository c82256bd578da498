// The governance store's public surface. Activities use `openStore` (or `createStore`) once in the
// composition root, write through `store.change(tx => ..., entry)` with the write functions below,
// record connector calls with `store.step`, and read with the read functions.
export { createStore, type Store, type StoreTx, type AuditedStep } from './store.js';
export { openStore, type OpenStoreOptions } from './open-store.js';
export { createStorePool, inTransaction, type Db } from './db.js';
export { migrate, MigrationError } from './migrate.js';
export { loadStoreKeys, type StoreKeys } from './store-keys.js';
export type { AuditEntry, AuditChange, Actor, AppendedRecord } from './audit-record.js';
export { AuditUnavailableError } from './audit-chain.js';
export { upsertIdentity, getIdentity, lastAppliedSequence, markSequenceApplied, peopleSharing, type Identity, type UpsertIdentityResult, type PeopleSharing, type SharedValue } from './identities.js';
export { recordAccount, listAccounts, type Account, type AccountStatus } from './accounts.js';
export { addGrant, revokeGrant, endRequestGrants, listGrants, expiredGrants, type Grant, type Provenance } from './grants.js';
export { openApproval, getApproval, pendingApprovals, ApprovalRefusedError, type Approval, type ApprovalStatus, type ApprovalMode } from './approvals.js';
export {
  applyApprovalEvent,
  approvalEventAudit,
  recordApprovalEvents,
  pendingApprovalsFor,
  listApprovals,
  getApprovalWithVotes,
  type ApprovalContext,
  type AppliedApprovalEvent,
  type ApprovalSummary,
  type ApprovalVote,
  type ApprovalWithVotes,
  type ApprovalListFilter,
} from './approval-gates.js';
export { recordPolicyVersion, listPolicyVersions } from './policy-versions.js';
export { recordPlan, recordOutcome, outcomeAuditEntry, recentOutcomes } from './changes.js';
export {
  setApplicationMode,
  recordApplicationMode,
  applicationModeAudit,
  applicationModes,
  effectiveApplicationMode,
  applicationModeNames,
  MAX_MODE_REASON,
  type ApplicationMode,
  type EffectiveApplicationMode,
  type RecordedApplicationMode,
  type SetApplicationModeInput,
  type SetApplicationModeResult,
} from './application-modes.js';
export { purgeExpiredPersons } from './retention.js';
export { verifyAuditChain, type VerifyResult, type VerifyProblem } from './audit-verify.js';
export { queryAudit, type AuditQuery, type AuditRow } from './audit-query.js';
export { writeCheckpoint, startCheckpointer, readCheckpoints, checkpointDestinations, checkpointerOptions, type Checkpointer, type DestinationStatus } from './audit-checkpoints.js';
export { createKafkaAuditSink, publishPendingAuditRecords, startAuditPublisher, publicationLag, type AuditSink } from './audit-publisher.js';
export {
  recordApplicationFailure,
  applicationQuarantine,
  quarantinedApplications,
  recordProbe,
  holdApplication,
  releaseApplication,
  PROBE_ACTOR,
  MAX_QUARANTINE_REASON,
  type QuarantinedApplication,
  type QuarantineState,
  type FailureThreshold,
} from './quarantine.js';
export { recordApplicationBackoff, applicationBackoffRemainingMs, applicationPauses, boundedPauseMs, MAX_APPLICATION_PAUSE_MS, type ApplicationPause } from './application-backoff.js';
export { askFencePermit, decideFence, withdrawFencePermit, fenceListing, fenceRequestDecision, FenceRefusedError, type FencePermitAsk, type FencePerson, type FenceDecisionInput, type FenceDecided } from './fence.js';

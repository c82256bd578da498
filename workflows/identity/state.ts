// What one person's identity workflow holds: the queryable state, the queues its handlers fill,
// the approval gates and what crosses continue-as-new. JSON-plain, passed to every part.
import type { CancellationScope } from '@temporalio/workflow';
import type { ChangeEventType } from '../../activities/lifecycle-types.js';
import type { AccountRef } from '../../connectors/contract.js';
import type { HrEventType, WorkerSnapshot } from '../../schemas/events.js';
import type { ApprovalView } from '../../policy/approval-chain.js';
import type { FenceDecision } from '../fence-messages.js';
import type { CarriedState, FenceAsk, HrEventReceived, IdentityLifecycleInput, IdentityState, PendingRetry, RequestWork, StepGate, WaitingForApplications } from '../messages.js';

const RECENT_EVENT_IDS = 200;

/** One person's workflow: its ids, the state `getState` shows, and the work waiting to be taken. */
export type Identity = {
  employeeId: string;
  workflowId: string;
  state: IdentityState;
  /** Event ids (and `grant/<ticketId>`) already taken: a replayed message is dropped. */
  recentEventIds: string[];
  /** HR events received and not yet taken. */
  pending: HrEventReceived[];
  /** Grants and revoke requests from access requests, not yet taken. */
  requests: RequestWork[];
  /** Open approval gates of sensitive birthright steps. */
  gates: StepGate[];
  gateCounter: number;
  /** The newest HR snapshot: changes without one (grants, expiries, approvals) plan on it. */
  lastSnapshot: WorkerSnapshot | undefined;
  /** The latest settled approvals, still shown by `getApprovals`. */
  closedApprovals: ApprovalView[];
  /**
   * The change being applied, cancelled when a newer termination arrives; `scheduled`: steps whose
   * time came, cancelled by any newer HR snapshot while the fence holds them (a rescinded termination).
   */
  applying: { sequence: number; scope: CancellationScope; scheduled?: true } | undefined;
  /** Fence decisions received, by batch id, until the held change takes its own. */
  fenceDecisions: Record<string, FenceDecision>;
  /** The change that could not be planned, tried again after its backoff (identity/retry.ts). */
  retry: PendingRetry | undefined;
  /** An operator asked for the retry now (`provisioner retry`). */
  retryRequested: boolean;
  /** The HR event held for an operator (its sequence jumped too far ahead), and whether an operator accepted it. */
  held: (HrEventReceived & { reason: string }) | undefined;
  resequenceRequested: boolean;
  /** The change waiting for quarantined applications (identity/quarantine.ts), and whether a release was signalled. */
  waiting: WaitingForApplications | undefined;
  waitingReleased: boolean;
  /** The fence asks of the change being applied (identity/fence.ts), kept with its wait if it waits for a quarantined application. */
  fenceAsks: FenceAsk[];
  /** The change whose fenced steps an operator rejected (status `fence-rejected`): `provisioner retry` converges the person again. */
  fenceRejected?: { eventId: string; source: string };
};

/** One change to converge: an HR event, or a change from an access request, its expiry or an approval. */
export type Change = {
  changeId: string;
  eventId: string;
  eventType: HrEventType | ChangeEventType;
  source: string;
  sequence: number;
  /** HR changes bring their snapshot; the others plan on the newest one. */
  snapshot?: WorkerSnapshot;
  ticketId?: string;
  /** The HR event's own time (CloudEvents `time`): time to provision is measured from it. */
  time?: string;
};

/** The change id (and remembered event id) of a re-evaluation. */
export const reevaluationKey = (requestId: string) => `reevaluate/${requestId}`;

export const hrChange = (event: HrEventReceived): Change => ({ changeId: event.eventId, eventId: event.eventId, eventType: event.type, source: event.source, sequence: event.snapshot.sequence, snapshot: event.snapshot, time: event.time });

/** The person's workflow as it starts, or as the previous run carried it over. */
export function restore(input: IdentityLifecycleInput, workflowId: string): Identity {
  const { employeeId, carried } = input;
  const state: IdentityState = {
    employeeId,
    lastAppliedSequence: carried?.lastAppliedSequence ?? -1,
    ...(carried?.lastEventType ? { lastEventType: carried.lastEventType } : {}),
    // The status the previous run ended with: the search attribute still says it.
    status: carried?.status ?? 'idle',
    accounts: carried?.accounts ?? {},
    scheduled: carried?.scheduled ?? [],
    awaitingApproval: carried?.awaitingApproval ?? [],
    ignoredEvents: [],
    pendingEvents: 0,
  };
  if (carried?.grants?.length) state.grants = carried.grants;
  if (carried?.wake) state.wake = carried.wake;
  if (carried?.retry) state.retry = retryView(carried.retry);
  if (carried?.held) state.held = heldView(carried.held);
  if (carried?.waiting) state.quarantinedApplications = carried.waiting.apps;
  return {
    employeeId,
    workflowId,
    state,
    recentEventIds: [...(carried?.recentEventIds ?? [])],
    pending: [...(carried?.pending ?? [])],
    requests: [...(carried?.requests ?? [])],
    gates: [...(carried?.gates ?? [])],
    gateCounter: carried?.gateCounter ?? 0,
    lastSnapshot: carried?.snapshot,
    closedApprovals: [],
    applying: undefined,
    fenceDecisions: {},
    retry: carried?.retry,
    retryRequested: false,
    held: carried?.held,
    resequenceRequested: false,
    waiting: carried?.waiting,
    waitingReleased: false,
    fenceAsks: [],
    ...(carried?.fenceRejected ? { fenceRejected: carried.fenceRejected } : {}),
  };
}

/** What getState shows of a change waiting for its retry. */
export function retryView(retry: PendingRetry): NonNullable<IdentityState['retry']> {
  const { change } = retry;
  return { changeId: change.changeId, eventType: change.eventType, sequence: change.sequence, attempt: retry.attempt, nextAt: new Date(retry.nextAt).toISOString(), reason: retry.reason };
}

/** What getState shows of a held HR event (not its snapshot: personal data stays in the workflow). */
export function heldView(held: HrEventReceived & { reason: string }): NonNullable<IdentityState['held']> {
  return { eventId: held.eventId, eventType: held.type, sequence: held.snapshot.sequence, reason: held.reason };
}

/** What the next run starts from (taken when no event, request or gate decision is waiting). */
export function carry(id: Identity): CarriedState {
  const { state, gates, gateCounter, lastSnapshot } = id;
  return {
    lastAppliedSequence: state.lastAppliedSequence,
    ...(state.lastEventType ? { lastEventType: state.lastEventType } : {}),
    accounts: state.accounts,
    scheduled: state.scheduled,
    awaitingApproval: state.awaitingApproval,
    recentEventIds: id.recentEventIds,
    pending: id.pending,
    ...(id.requests.length > 0 ? { requests: id.requests } : {}),
    ...(state.grants?.length ? { grants: state.grants } : {}),
    ...(gates.length > 0 ? { gates, gateCounter } : gateCounter > 0 ? { gateCounter } : {}),
    ...(lastSnapshot ? { snapshot: lastSnapshot } : {}),
    ...(state.wake ? { wake: state.wake } : {}),
    status: state.status,
    ...(id.retry ? { retry: id.retry } : {}),
    ...(id.held ? { held: id.held } : {}),
    ...(id.waiting ? { waiting: id.waiting } : {}),
    // A rejected person's retry asks the fence from the source that brought the rejected change, in the next run too.
    ...(id.fenceRejected && state.status === 'fence-rejected' ? { fenceRejected: id.fenceRejected } : {}),
  };
}

/** Records an id as taken, keeping the newest few hundred. */
export function remember(id: Identity, eventId: string): void {
  const ids = id.recentEventIds;
  ids.push(eventId);
  if (ids.length > RECENT_EVENT_IDS) ids.splice(0, ids.length - RECENT_EVENT_IDS);
}

/** The person's accounts as the connectors address them. */
export function knownAccounts(id: Identity): Record<string, AccountRef> {
  return Object.fromEntries(Object.entries(id.state.accounts).map(([app, a]) => [app, { app, id: a.accountId, externalId: id.employeeId }]));
}

/** Keeps the accounts a change created or found, and forgets those it removed (deleted, or undone by the saga). */
export function rememberAccounts(id: Identity, accounts: Record<string, AccountRef>, removed: readonly string[] = []): void {
  for (const [app, ref] of Object.entries(accounts)) id.state.accounts[app] = { accountId: ref.id };
  for (const app of removed) delete id.state.accounts[app];
}

/**
 * What the plan's reads found is what the applications hold: their handles replace the remembered
 * ones (an LDAP entry moved to `ou=disabled` has a new DN), and an application that read no account
 * has none.
 */
export function takeReadAccounts(id: Identity, read: { apps: readonly string[]; found: ReadonlyArray<{ app: string; account: AccountRef }> }): void {
  for (const app of read.apps) delete id.state.accounts[app];
  for (const a of read.found) id.state.accounts[a.app] = { accountId: a.account.id };
}

/**
 * An operator's retry of a person the fence rejected: the newest snapshot converged again, as a
 * change of its own (a new permit ask, counted from the source that brought the rejected change).
 */
export function afterFenceRejection(id: Identity, snapshot: WorkerSnapshot): Change {
  const rejected = id.fenceRejected;
  const changeId = `${rejected?.eventId ?? 'snapshot'}/after-fence-rejection-${Date.now()}`;
  return { changeId, eventId: rejected?.eventId ?? changeId, eventType: id.state.lastEventType ?? 'hr.worker.updated', source: rejected?.source ?? 'operator-retry', sequence: snapshot.sequence, snapshot };
}

// Dated changes in a person's workflow: the wake time a plan asks for (a prehire window opens) is
// kept in the state, carried across continue-as-new and replaced by every newer plan; when it comes,
// the person is converged on the newest snapshot. And least privilege on hire: an account that
// only approval-gated grants need is held with its application's gates until one is approved.
import { patched } from '@temporalio/workflow';
import type { PlanStep, PlannedChange } from '../../activities/lifecycle-types.js';
import type { IdentityState } from '../messages.js';
import { converge } from './converge.js';
import type { Change, Identity } from './state.js';

/** When the person is due to be planned again, if ever. */
export function nextWake(id: Identity): number | undefined {
  const { wake } = id.state;
  return wake ? Date.parse(wake.at) : undefined;
}

/** Keeps the plan's wake time, replacing any earlier one (the newest plan knows best). */
export function keepWake(id: Identity, change: Change, plan: PlannedChange): void {
  // Plans from before dated changes carry none: nothing to keep, nothing changes for their histories.
  if (plan.wakeAt && plan.wakeReason && patched('dated-wake')) id.state.wake = { at: plan.wakeAt, reason: plan.wakeReason, changeId: change.changeId };
  else delete id.state.wake;
}

/** The wake time has come: the person is planned again on the newest snapshot. */
export async function wakeUp(id: Identity): Promise<void> {
  const { state } = id;
  const wake = state.wake!;
  delete state.wake;
  const changeId = `wake/${wake.at}`;
  await converge(id, { changeId, eventId: changeId, eventType: 'provisioner.wake.due', source: 'provisioner:timer', sequence: state.lastAppliedSequence });
}

/** Holds each `untilApproved` account with the gates of its application (a newer plan replaces them). */
export function holdAccounts(id: Identity, held: PlanStep[]): void {
  for (const g of id.gates) {
    const account = held.find((h) => h.app === g.step.app);
    if (account) g.account = account;
    else delete g.account;
  }
}

/** The steps to apply for an approved gate: its held account first, when the person has none there yet. */
export function withHeldAccount(id: Identity, gate: { step: PlanStep; account?: PlanStep }): PlanStep[] {
  return gate.account && !id.state.accounts[gate.step.app] ? [gate.account, gate.step] : [gate.step];
}

/** What `getState` shows of the held accounts. */
export function accountsAwaitingApproval(id: Identity): Pick<IdentityState, 'accountsAwaitingApproval'> {
  const apps = [...new Set(id.gates.filter((g) => g.account && !id.state.accounts[g.step.app]).map((g) => g.step.app))].sort();
  return apps.length === 0 ? {} : { accountsAwaitingApproval: apps.map((app) => ({ app, reason: 'every entitlement waits for approval: made with the first approved grant' })) };
}

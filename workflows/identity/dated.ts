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

/** An account held for approval, and its enable at the start when it is to be made disabled. */
export type HeldAccount = { account: PlanStep; enable?: PlanStep };

/** Splits the plan: each `untilApproved` account (with its application's enable at the start, if any), and the other steps. */
export function heldAccounts(planned: PlanStep[]): { held: HeldAccount[]; steps: PlanStep[] } {
  const held = planned.filter((s) => s.untilApproved).map((account): HeldAccount => {
    const enable = planned.find((s) => s.app === account.app && s.action === 'enableAccount' && !s.account);
    return enable ? { account, enable } : { account };
  });
  const taken = new Set(held.flatMap((h) => [h.account, ...(h.enable ? [h.enable] : [])]));
  return { held, steps: planned.filter((s) => !taken.has(s)) };
}

/** Holds each account with the gates of its application (a newer plan replaces them). */
export function holdAccounts(id: Identity, held: HeldAccount[]): void {
  for (const g of id.gates) {
    const h = held.find((x) => x.account.app === g.step.app);
    if (h) g.account = h.account;
    else delete g.account;
    if (h?.enable) g.accountEnable = h.enable;
    else delete g.accountEnable;
  }
}

/**
 * The steps to apply for an approved gate: its held account first, when the person has none there
 * yet. One to be made disabled until a start is made enabled once the start has passed, else its
 * enable is scheduled for the start.
 */
export function withHeldAccount(id: Identity, gate: { step: PlanStep; account?: PlanStep; accountEnable?: PlanStep }, change: Change): PlanStep[] {
  const { account, accountEnable: enable } = gate;
  if (!account || id.state.accounts[gate.step.app]) return [gate.step];
  if (!enable?.notBefore) return [account, gate.step];
  if (Date.parse(enable.notBefore) <= Date.now()) {
    const { active: _disabled, ...enabled } = account;
    return [enabled, gate.step];
  }
  id.state.scheduled = [...id.state.scheduled.filter((s) => s.step.key !== enable.key), { changeId: change.changeId, eventId: change.eventId, sequence: change.sequence, step: enable, notBefore: enable.notBefore }];
  return [account, gate.step];
}

/** What `getState` shows of the held accounts. */
export function accountsAwaitingApproval(id: Identity): Pick<IdentityState, 'accountsAwaitingApproval'> {
  const apps = [...new Set(id.gates.filter((g) => g.account && !id.state.accounts[g.step.app]).map((g) => g.step.app))].sort();
  return apps.length === 0 ? {} : { accountsAwaitingApproval: apps.map((app) => ({ app, reason: 'every entitlement waits for approval: made with the first approved grant' })) };
}

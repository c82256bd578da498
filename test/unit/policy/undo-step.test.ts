import { describe, expect, it } from 'vitest';
import type { AccountRef } from '../../../connectors/contract.js';
import type { PlanStep } from '../../../policy/planner.js';
import { undoKey, undoOf } from '../../../policy/undo-step.js';

const account: AccountRef = { app: 'chat', id: 'u-1', externalId: 'E1' };
const step = (action: PlanStep['action'], extra: Partial<PlanStep> = {}): PlanStep => ({
  key: `${action}/chat${extra.entitlementId ? `/${extra.entitlementId}` : ''}`,
  action,
  app: 'chat',
  reason: 'birthright',
  ...extra,
});

describe('the undo of a step', () => {
  it('deletes an account the step created, with the account it reported', () => {
    expect(undoOf(step('ensureAccount'), account)).toEqual({
      kind: 'step',
      step: { key: 'undo/ensureAccount/chat', action: 'deleteAccount', app: 'chat', reason: 'undo: birthright', account },
    });
  });

  it('leaves an account that existed before the step as it was', () => {
    expect(undoOf(step('ensureAccount', { account }), account)).toEqual({ kind: 'nothing', outcome: 'unchanged', detail: 'ensureAccount is not undone' });
  });

  it('reads the account first when the step created one it did not report, and does nothing when none is found', () => {
    expect(undoOf(step('ensureAccount'))).toEqual({ kind: 'read-account' });
    expect(undoOf(step('ensureAccount'), undefined)).toEqual({ kind: 'read-account' });
    expect(undoOf(step('ensureAccount'), null)).toEqual({ kind: 'nothing', outcome: 'already-in-state', detail: 'no account was created' });
    expect(undoOf(step('ensureAccount'), account)).toMatchObject({ kind: 'step', step: { action: 'deleteAccount', account } });
  });

  it('disables what was enabled and enables what was disabled, on the step\'s account', () => {
    expect(undoOf(step('enableAccount', { account }))).toMatchObject({ kind: 'step', step: { action: 'disableAccount', key: 'undo/enableAccount/chat', account } });
    expect(undoOf(step('disableAccount', { account }))).toMatchObject({ kind: 'step', step: { action: 'enableAccount', key: 'undo/disableAccount/chat', account } });
  });

  it('revokes what was granted and grants what was revoked, the same entitlement', () => {
    expect(undoOf(step('grant', { account, entitlementId: 'all-staff' }))).toEqual({
      kind: 'step',
      step: { key: 'undo/grant/chat/all-staff', action: 'revoke', app: 'chat', entitlementId: 'all-staff', reason: 'undo: birthright', account },
    });
    expect(undoOf(step('revoke', { account, entitlementId: 'all-staff' }))).toMatchObject({ kind: 'step', step: { action: 'grant', entitlementId: 'all-staff' } });
  });

  it('takes the account the step reported when the step had none', () => {
    expect(undoOf(step('grant', { entitlementId: 'all-staff' }), account)).toMatchObject({ kind: 'step', step: { action: 'revoke', account } });
  });

  it('does not undo a delete', () => {
    expect(undoOf(step('deleteAccount', { account }), account)).toEqual({ kind: 'nothing', outcome: 'unchanged', detail: 'deleteAccount is not undone' });
  });

  it('keys the undo after its step', () => {
    expect(undoKey('identity/E1/e-1/grant/chat/all-staff')).toBe('identity/E1/e-1/grant/chat/all-staff/undo');
  });
});

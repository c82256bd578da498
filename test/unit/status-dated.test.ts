// `provisioner status <id>` says what waits for its time and why: each scheduled step (time,
// action, application, reason) in time order, the wake time and its reason, the held accounts.
import { describe, expect, it } from 'vitest';
import { datedLines } from '../../cli/commands/status.js';
import type { IdentityState } from '../../workflows/messages.js';

const base: IdentityState = { employeeId: 'E1', lastAppliedSequence: 2, status: 'provisioned', accounts: {}, scheduled: [], awaitingApproval: [], ignoredEvents: [], pendingEvents: 0 };

describe('what status shows of dated changes', () => {
  it('lists scheduled steps by time with their action, application and reason, then the wake time and held accounts', () => {
    const state: IdentityState = {
      ...base,
      scheduled: [
        { changeId: 'c', eventId: 'e', sequence: 2, notBefore: '2026-02-08T17:00:00.000Z', step: { key: 'deleteAccount/chat', action: 'deleteAccount', app: 'chat', reason: 'leaver: deleted after the deletion delay (P30D)' } },
        { changeId: 'c', eventId: 'e', sequence: 2, notBefore: '2026-01-09T17:00:00.000Z', step: { key: 'revoke/chat/eng', action: 'revoke', app: 'chat', entitlementId: 'eng', reason: 'leaver: revoked at 2026-01-09T17:00:00.000Z' } },
      ],
      wake: { at: '2026-01-20T00:00:00.000Z', reason: 'prehire: code opens for the start 2026-01-27T00:00:00.000Z', changeId: 'c' },
      accountsAwaitingApproval: [{ app: 'crm', reason: 'every entitlement waits for approval: made with the first approved grant' }],
    };
    expect(datedLines(state)).toEqual([
      '  later    2026-01-09T17:00:00.000Z revoke chat eng: leaver: revoked at 2026-01-09T17:00:00.000Z',
      '  later    2026-02-08T17:00:00.000Z deleteAccount chat: leaver: deleted after the deletion delay (P30D)',
      '  wake     2026-01-20T00:00:00.000Z: prehire: code opens for the start 2026-01-27T00:00:00.000Z',
      '  held     ensureAccount crm: every entitlement waits for approval: made with the first approved grant',
    ]);
  });

  it('shows nothing when nothing waits', () => {
    expect(datedLines(base)).toEqual([]);
  });
});

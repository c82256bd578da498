// The grant sweep's activities (workflows/grant-sweep.ts): which request grants are overdue, and
// handing one to its person's identity workflow (started if it is not running) as a revocation,
// with an audit record of the sweep's own act (actor system:grant-sweep).
import type { Client } from '@temporalio/client';
import { signalRevocationWithStart } from '../clients/requests.js';
import { expiredGrants, type Grant, type Store } from '../store/index.js';

export const GRANT_SWEEP_ACTOR = { type: 'system' as const, id: 'grant-sweep' };

/** A live request grant past its end, as the sweep hands it over. */
export type OverdueGrant = { grantId: string; employeeId: string; ticketId: string; app: string; entitlementId: string; expiresAt: string };

export type AskToRevokeInput = {
  grant: OverdueGrant;
  /** The sweep's workflow id: with the grant id, the revocation's event id (one per sweep and grant). */
  sweepId: string;
  /** Where the person's workflow runs if the sweep has to start it. */
  taskQueue: string;
  graceMinutes: number;
};

export type GrantSweepDeps = { store: Store; client: Client };

const MINUTE_MS = 60_000;

function overdueGrant(g: Grant & { employeeId: string }): OverdueGrant | undefined {
  if (g.provenance.kind !== 'request' || !g.expiresAt) return undefined;
  return { grantId: g.grantId, employeeId: g.employeeId, ticketId: g.provenance.ticketId, app: g.app, entitlementId: g.entitlementId, expiresAt: g.expiresAt.toISOString() };
}

export function createGrantSweepActivities({ store, client }: GrantSweepDeps) {
  const overdue = async (graceMinutes: number, options: { limit?: number; grantId?: string }) =>
    (await expiredGrants(store.pool, new Date(Date.now() - graceMinutes * MINUTE_MS), { provenance: 'request', ...options }))
      .map(overdueGrant)
      .filter((g): g is OverdueGrant => g !== undefined);

  return {
    /** Live request grants whose end passed more than `graceMinutes` ago, oldest first, at most `limit`. */
    async listOverdueRequestGrants(input: { graceMinutes: number; limit: number }): Promise<OverdueGrant[]> {
      return overdue(input.graceMinutes, { limit: input.limit });
    },

    /**
     * Asks the person's identity workflow to revoke an overdue grant; `settled` when the grant was
     * revoked or extended since it was listed (nothing is asked). A retry asks again with the same
     * event id, which the workflow takes once, and appends no second audit record.
     */
    async askIdentityToRevokeGrant(input: AskToRevokeInput): Promise<'asked' | 'settled'> {
      const { grant, sweepId } = input;
      if ((await overdue(input.graceMinutes, { grantId: grant.grantId })).length === 0) return 'settled';
      const eventId = `${sweepId}/${grant.grantId}`;
      await store.audit({
        actor: GRANT_SWEEP_ACTOR,
        action: 'grant.sweep-revoke-requested',
        reason: `ticket ${grant.ticketId}: the grant ended at ${grant.expiresAt} and its person's workflow did not revoke it`,
        eventId,
        workflowId: sweepId,
        subject: { employeeId: grant.employeeId },
        changes: [{ op: 'revoke', app: grant.app, entitlement: grant.entitlementId, outcome: 'requested' }],
        idempotencyKey: `grant-sweep/${eventId}`,
      });
      await signalRevocationWithStart(client, input.taskQueue, grant.employeeId, {
        ticketId: grant.ticketId,
        eventId,
        requesterId: grant.employeeId,
        app: grant.app,
        entitlementId: grant.entitlementId,
        source: 'provisioner:grant-sweep',
      });
      return 'asked';
    },
  };
}

export type GrantSweepActivities = ReturnType<typeof createGrantSweepActivities>;

// Plans and outcomes: what a change meant to do and what it did, keyed by its changeId
// (`${workflowId}/${eventId}`), so a retried activity records each once.
import { z } from 'zod';
import { outcomeSchema, type Outcome } from '../schemas/outcomes.js';
import type { AuditEntry, Actor } from './audit-record.js';
import type { Db } from './db.js';
import { ensurePerson } from './person-keys.js';
import type { StoreTx } from './store.js';

export type PlanRecord = {
  changeId: string;
  employeeId: string;
  eventId: string;
  sequence: number;
  policyVersion: string;
  /** The planned steps, as JSON. */
  steps: unknown[];
};

export async function recordPlan(tx: StoreTx, plan: PlanRecord): Promise<{ created: boolean }> {
  const steps = z.array(z.json()).parse(plan.steps);
  const person = await ensurePerson(tx.client, tx.kek, plan.employeeId);
  const { rowCount } = await tx.client.query(
    `insert into plans (change_id, person_id, event_id, sequence, policy_version, steps) values ($1, $2, $3, $4, $5, $6)
     on conflict (change_id) do nothing`,
    [plan.changeId, person.personId, plan.eventId, plan.sequence, plan.policyVersion, JSON.stringify(steps)],
  );
  return { created: rowCount === 1 };
}

/**
 * Records a change's outcome once, and advances the person's last applied sequence unless the
 * event was ignored (stale or duplicate) or not applied (`applied: false`: its snapshot was held,
 * or its plan could not be made and it waits for a retry).
 */
export async function recordOutcome(tx: StoreTx, outcomeInput: Outcome, options: { applied: boolean } = { applied: true }): Promise<{ created: boolean; lastAppliedSequence: number | undefined }> {
  const outcome = outcomeSchema.parse(outcomeInput);
  const person = await ensurePerson(tx.client, tx.kek, outcome.employeeId);
  const { rowCount } = await tx.client.query(
    `insert into outcomes (change_id, person_id, event_id, event_type, sequence, status, policy_version, ticket_id, steps, reason, completed_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) on conflict (change_id) do nothing`,
    [outcome.changeId, person.personId, outcome.eventId, outcome.eventType, outcome.sequence, outcome.status, outcome.policyVersion,
      outcome.ticketId ?? null, JSON.stringify(outcome.steps), outcome.reason ?? null, outcome.completedAt],
  );
  if (rowCount !== 1) return { created: false, lastAppliedSequence: undefined };
  if (outcome.status === 'ignored' || !options.applied) return { created: true, lastAppliedSequence: undefined };
  const { rows } = await tx.client.query<{ last_applied_sequence: string }>(
    `update identities set last_applied_sequence = greatest(last_applied_sequence, $2), updated_at = now()
      where person_id = $1 returning last_applied_sequence`,
    [person.personId, outcome.sequence],
  );
  return { created: true, lastAppliedSequence: Number(rows[0]!.last_applied_sequence) };
}

/** The audit record of an outcome: its steps as changes, their account references sealed. */
export function outcomeAuditEntry(outcome: Outcome, actor: Actor = { type: 'system', id: 'identity-workflow' }): AuditEntry {
  const details = outcome.steps.map((s) => s.detail ?? null);
  return {
    actor,
    action: `change.${outcome.status}`,
    // The workflow's reason is free text from another module: it travels sealed, the clear reason is generic.
    reason: `${outcome.eventType}: ${outcome.status}`,
    eventId: outcome.eventId,
    workflowId: outcome.workflowId,
    policyVersion: outcome.policyVersion,
    subject: { employeeId: outcome.employeeId },
    changes: outcome.steps.map((s) => ({ op: s.action, app: s.app, outcome: s.outcome, ...(s.accountId ? { account: s.accountId } : {}) })),
    // Connector messages may quote names or e-mails: sealed with the rest of the personal data.
    personal: {
      changeId: outcome.changeId,
      sequence: outcome.sequence,
      ...(outcome.ticketId ? { ticketId: outcome.ticketId } : {}),
      ...(outcome.reason ? { reason: outcome.reason } : {}),
      ...(details.some((d) => d !== null) ? { details } : {}),
    },
    idempotencyKey: `outcome:${outcome.changeId}`,
  };
}

export type StoredOutcome = Omit<Outcome, 'employeeId' | 'workflowId'> & { recordedAt: Date };

export async function recentOutcomes(db: Db, employeeId: string, limit = 20): Promise<StoredOutcome[]> {
  const { rows } = await db.query<{
    change_id: string; event_id: string; event_type: string; sequence: string; status: Outcome['status']; policy_version: string;
    ticket_id: string | null; steps: Outcome['steps']; reason: string | null; completed_at: Date; recorded_at: Date;
  }>(
    `select o.* from outcomes o join identities i using (person_id) where i.employee_id = $1 order by o.completed_at desc limit $2`,
    [employeeId, limit],
  );
  return rows.map((r) => ({
    changeId: r.change_id, eventId: r.event_id, eventType: r.event_type, sequence: Number(r.sequence), status: r.status,
    policyVersion: r.policy_version, ...(r.ticket_id ? { ticketId: r.ticket_id } : {}), steps: r.steps,
    ...(r.reason ? { reason: r.reason } : {}), completedAt: r.completed_at.toISOString(), recordedAt: r.recorded_at,
  }));
}

// The `itsm.requests` consumer (docs/architecture.md#events, #accessrequest): the ITSM's access requests, revocations and
// approval decisions, handed to Temporal with the same guarantees as the HR consumer (offsets
// committed after Temporal has the event, one beneficiary's events in order, bad input to the DLQ
// with its reason, back-pressure, watchdog: event-consumer.ts).
//
// - `itsm.access.requested` starts the access request workflow `request/<ticketId>`. A ticket
//   starts one workflow, ever (within Temporal's retention): a replay, or a second event for the
//   same ticket, finds it started and changes nothing.
// - `itsm.access.revoke.requested` signals the beneficiary's identity workflow, which owns the
//   grant; a person without one is dead-lettered (`unknown-beneficiary`).
// - `itsm.approval.decided` is taken only with the ITSM's signature (crypto/decision-signatures.ts):
//   an unsigned decision (`unsigned-decision`), one whose signature does not verify with
//   itsm.decisionKeys or names another issuer or audience (`bad-signature`), one signed longer ago
//   than itsm.decisionMaxAgeMinutes (`stale-decision`), and one whose signed claims differ from the
//   event (another approver, approval, decision, ticket, comment or event id: `decision-mismatch`)
//   are audited (`approval.refused`, by the ingress: the approver it names did not act) and
//   dead-lettered; nothing reaches the workflow. A verified decision is recorded as such
//   (`approval.decision-verified`: only such votes count for a grant, policy/grant-approvals.ts)
//   and sent as the `approve`/`reject` update (clients/approvals.ts),
//   with the event id as update id, so a replayed decision is not counted twice. A refusal by the
//   validator (requester, beneficiary, not eligible, not pending, already voted) is audited and
//   the offset moves on: the input was valid and replaying it cannot change the answer. A decision
//   on an approval that does not exist here (`unknown-approval`, or `no-such-workflow` when the
//   workflow was never started) is audited too and also dead-lettered, so an operator sees a
//   misrouted or premature decision and can redrive it. A decision for a workflow that has already
//   closed (a late or replayed decision) is audited and skipped. An update that the workflow ran
//   and that failed otherwise is dead-lettered (`decision-failed`).
import { WorkflowUpdateFailedError } from '@temporalio/client';
import {
  parseItsmEvent,
  type AccessRequestedEvent,
  type AccessRevokeRequestedEvent,
  type ApprovalDecidedEvent,
  type ItsmEvent,
} from '../schemas/itsm-events.js';
import type { Store } from '../store/index.js';
import { decideApproval, recordVerifiedDecision, type DecisionAnswer } from '../clients/approvals.js';
import { signalRevocation, startAccessRequest, workflowStatus } from '../clients/requests.js';
import { accessRequestWorkflowId, type AccessRequestInput, type AccessRevocationRequested } from '../workflows/approval-messages.js';
import { identityWorkflowId } from '../workflows/messages.js';
import { createDecisionVerifier, decisionKeysFile, decisionOf, type DecisionRefusalCode, type DecisionVerifier } from '../crypto/decision-signatures.js';
import { createEventConsumer, handled, isRejectedByTemporal, judgeMessage, type Disposition, type EventConsumer, type FeedConsumerOptions, type Verdict } from './event-consumer.js';
import type { KafkaMessage } from '../kafka/client.js';

export type ItsmConsumerOptions = FeedConsumerOptions & {
  /** Audits refused decisions (docs/architecture.md#approvals: the receiver audits a refused attempt). A function opens it on first use. */
  store?: Store | (() => Promise<Store>);
  /** Verifies the ITSM's decision signatures; default: one over the configuration's itsm section. */
  decisionVerifier?: DecisionVerifier;
};

export type ItsmConsumer = EventConsumer;

export function judgeItsm(message: KafkaMessage): Verdict<ItsmEvent> {
  return judgeMessage(message, parseItsmEvent);
}

/** What the access request workflow receives (no names or e-mails; the justification travels encrypted). */
export function accessRequestInput(event: AccessRequestedEvent): AccessRequestInput {
  const d = event.data;
  return {
    ticketId: d.ticketId,
    requesterId: d.requesterId,
    beneficiaryId: d.beneficiaryId,
    app: d.entitlement.app,
    entitlementId: d.entitlement.id,
    justification: d.justification,
    ...(d.duration !== undefined ? { duration: d.duration } : {}),
    eventId: event.id,
    source: event.source,
    time: event.time,
  };
}

export function revocationRequest(event: AccessRevokeRequestedEvent): AccessRevocationRequested {
  const d = event.data;
  return { ticketId: d.ticketId, eventId: event.id, requesterId: d.requesterId, app: d.entitlement.app, entitlementId: d.entitlement.id, source: event.source };
}

export function createItsmConsumer(options: ItsmConsumerOptions): ItsmConsumer {
  const { cfg, client, logger } = options;
  const topic = options.topic ?? cfg.kafka.topics.itsmRequests;
  const taskQueue = options.taskQueue ?? cfg.temporal.taskQueue;
  const log = logger.child({ component: 'itsm-consumer', topic });
  const store = async (): Promise<Store | undefined> => (typeof options.store === 'function' ? options.store() : options.store);
  const verifier: DecisionVerifier =
    options.decisionVerifier ??
    createDecisionVerifier({ keysFile: decisionKeysFile(cfg), issuer: cfg.itsm.issuer, audience: cfg.itsm.audience, maxAgeMinutes: cfg.itsm.decisionMaxAgeMinutes });

  /** A decision without a valid signature of the ITSM: audited as refused by the ingress, then dead-lettered. */
  async function refuseUnverified(event: ApprovalDecidedEvent, code: DecisionRefusalCode, text: string): Promise<Disposition> {
    const { approvalId, approverId, decision } = event.data;
    const kind = decision === 'approved' ? 'approve' : 'reject';
    await (await store())?.audit({
      // The approver the event names did not act (nobody vouched for it): the ingress records the refusal.
      actor: { type: 'system', id: 'itsm-ingress' },
      action: 'approval.refused',
      reason: `${kind} refused (${code}) via itsm: the decision is not signed by the ITSM as the event says`,
      eventId: event.id,
      idempotencyKey: `${event.id}#unverified/${code}`,
      changes: [{ op: `approval.${kind}`, outcome: code }],
      // About the beneficiary's access; the claimed approver and the details can name people: sealed.
      subject: { employeeId: event.subject },
      personal: { approvalId, approverId, source: event.source.slice(0, 500), message: text.slice(0, 1000) },
    });
    log.warn({ eventId: event.id, reasonCode: code }, 'approval decision without a valid ITSM signature: audited and dead-lettered');
    return { status: 'dead-letter', code, text };
  }

  async function startRequest(event: AccessRequestedEvent): Promise<Disposition> {
    const { ticketId, beneficiaryId } = event.data;
    const workflowId = accessRequestWorkflowId(ticketId);
    if ((await startAccessRequest(client, taskQueue, accessRequestInput(event))) === 'already-started') {
      log.info({ eventId: event.id, workflowId, ticketId }, 'the ticket already has its request workflow: nothing started');
      return handled;
    }
    log.debug({ eventId: event.id, workflowId, ticketId, employeeId: beneficiaryId }, 'access request workflow started');
    return handled;
  }

  async function requestRevocation(event: AccessRevokeRequestedEvent): Promise<Disposition> {
    const workflowId = identityWorkflowId(event.data.beneficiaryId);
    if ((await signalRevocation(client, event.data.beneficiaryId, revocationRequest(event))) === 'no-such-workflow') {
      return { status: 'dead-letter', code: 'unknown-beneficiary', text: `no running identity workflow ${workflowId}: the beneficiary is not known here` };
    }
    log.debug({ eventId: event.id, workflowId, ticketId: event.data.ticketId }, 'revocation handed to the identity workflow');
    return handled;
  }

  async function decide(event: ApprovalDecidedEvent): Promise<Disposition> {
    const { approvalId, approverId, comment, decision } = event.data;
    const check = await verifier.verify(event.signature, decisionOf(event));
    if (!check.ok) return refuseUnverified(event, check.code, check.text);
    const kind = decision === 'approved' ? 'approve' : 'reject';
    const request = { approvalId, approverId, ...(comment !== undefined ? { comment } : {}), channel: 'itsm' as const, eventId: event.id };
    const audit = await store();
    // The JWS verified: recorded before the update, so the grant check counts this vote.
    if (audit) await recordVerifiedDecision(audit, kind, request, { source: 'itsm', eventId: event.id, ...(check.keyId ? { keyId: check.keyId } : {}) }, `${event.id}#verified`);
    let answer: DecisionAnswer;
    try {
      answer = await decideApproval({ client, store: audit }, kind, request, { updateId: event.id });
    } catch (err) {
      // The workflow ran the update and it failed (not a refusal): the same input fails the same way.
      if (!(err instanceof WorkflowUpdateFailedError)) throw err;
      return { status: 'dead-letter', code: 'decision-failed', text: `${approvalId}: ${err.cause?.message ?? err.message}` };
    }
    const fields = { eventId: event.id, approvalId, workflowId: answer.workflowId };
    if (answer.ok) {
      log.info({ ...fields, status: answer.result.status }, 'approval decision taken');
      return handled;
    }
    const status = answer.code === 'no-such-workflow' && answer.workflowId !== undefined ? await workflowStatus(client, answer.workflowId) : undefined;
    // Started between the update and now (another partition's request): the batch is retried, and with it the decision.
    if (status === 'RUNNING') throw new Error(`${answer.workflowId} started while its decision ${event.id} was being sent: retrying`);
    if (status !== undefined) {
      log.warn({ ...fields, refusal: answer.code, status }, 'decision for a closed workflow: audited and skipped');
      return handled;
    }
    if (answer.code === 'unknown-approval' || answer.code === 'no-such-workflow') {
      return { status: 'dead-letter', code: answer.code, text: answer.message };
    }
    log.warn({ ...fields, refusal: answer.code }, 'approval decision refused: audited, offset moves on');
    return handled;
  }


  async function handle(message: KafkaMessage): Promise<Disposition> {
    const verdict = judgeItsm(message);
    if (!verdict.ok) return { status: 'dead-letter', code: verdict.code, text: verdict.text };
    const event = verdict.event;
    try {
      switch (event.type) {
        case 'itsm.access.requested':
          return await startRequest(event);
        case 'itsm.access.revoke.requested':
          return await requestRevocation(event);
        case 'itsm.approval.decided':
          return await decide(event);
      }
    } catch (err) {
      if (!isRejectedByTemporal(err)) throw err; // transient: the batch is retried from the last commit
      return { status: 'dead-letter', code: 'rejected-by-temporal', text: (err as Error).message };
    }
  }

  const consumer = createEventConsumer({
    cfg,
    log,
    topic,
    groupId: options.groupId ?? cfg.kafka.groups.itsmIngress,
    clientId: `${cfg.kafka.clientId}-ingress-itsm`,
    handle,
    maxInFlight: options.maxInFlight,
    watchdogMs: options.watchdogMs,
  });
  return {
    ...consumer,
    async start() {
      // A missing or malformed itsm.decisionKeys file stops the start, not the first decision.
      verifier.check();
      await consumer.start();
      log.info({ taskQueue }, 'consuming ITSM requests');
    },
  };
}

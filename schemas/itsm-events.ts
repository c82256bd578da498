// The ITSM contract: CloudEvents 1.0 envelopes on `itsm.requests` (docs/architecture.md#events). What the ITSM
// sends is parsed tolerantly (unknown envelope extensions are kept, unknown data fields dropped);
// what matters is validated.
//
// `subject` is the beneficiary's employee id on every type, and the Kafka key must equal it, so
// one person's requests, decisions and revocations stay in order on one partition (a decision is
// then never read before the request that opened its approval):
// - `itsm.access.requested`, `itsm.access.revoke.requested`: subject = data.beneficiaryId.
// - `itsm.approval.decided`: the decision does not name the beneficiary, so the subject cannot be
//   checked against data, except for an identity workflow's approval (`idn-<employeeId>-...`),
//   which names its person. A subject that is not the beneficiary breaks nothing but the order.
import { z } from 'zod';
import { cloudEventEnvelope, employeeIdSchema, parseMessage, type ParseResult } from './events.js';
import { appIdSchema, durationSchema, entitlementIdSchema } from './policy.js';
import { personText } from './text.js';

export const itsmEventTypes = ['itsm.access.requested', 'itsm.access.revoke.requested', 'itsm.approval.decided'] as const;
export type ItsmEventType = (typeof itsmEventTypes)[number];

/** Ticket ids go into workflow ids (`request/<ticketId>`) and approval ids: the employee-id alphabet. */
export const ticketIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a ticket id is 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit');

/** Approval ids as our workflows issue them (`req-<ticketId>.<chain>.<stage>`, `idn-<employeeId>-<n>.<chain>.<stage>`). */
export const approvalIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,160}$/, 'an approval id is 1-161 letters, digits, ".", "_" or "-", starting with a letter or digit');

// The shared CloudEvents envelope; here the subject is the beneficiary.
const envelope = {
  ...cloudEventEnvelope,
  subject: employeeIdSchema.meta({ description: "The beneficiary's employee id; the Kafka message key must equal it." }),
};

const entitlementSchema = z.object({ app: appIdSchema, id: entitlementIdSchema });

export const accessRequestedSchema = z.object({
  ticketId: ticketIdSchema,
  requesterId: employeeIdSchema,
  beneficiaryId: employeeIdSchema,
  entitlement: entitlementSchema,
  justification: personText(2000, 1),
  /** ISO 8601 duration (PT2M, P30D); the entitlement's maxDuration caps it. */
  duration: durationSchema.meta({ description: 'ISO 8601 duration with designators (PT2M, P30D, P1Y6M, P2W)', examples: ['P30D'] }).optional(),
});
export type AccessRequested = z.infer<typeof accessRequestedSchema>;

export const accessRevokeRequestedSchema = z.object({
  ticketId: ticketIdSchema,
  requesterId: employeeIdSchema,
  beneficiaryId: employeeIdSchema,
  entitlement: entitlementSchema,
  justification: personText(2000, 1).optional(),
});
export type AccessRevokeRequested = z.infer<typeof accessRevokeRequestedSchema>;

export const approvalDecidedSchema = z.object({
  approvalId: approvalIdSchema,
  approverId: employeeIdSchema,
  decision: z.enum(['approved', 'rejected']),
  comment: personText(2000).optional(),
  ticketId: ticketIdSchema.optional(),
});
export type ApprovalDecided = z.infer<typeof approvalDecidedSchema>;

/**
 * The ITSM's signature of a decision (a CloudEvents extension attribute): a compact JWS whose claims
 * bind the event id, the approval, the decision and the approver (crypto/decision-signatures.ts).
 * Optional in the schema so that an unsigned decision is dead-lettered as `unsigned-decision`.
 */
export const decisionSignatureSchema = z
  .string()
  .min(1)
  .max(16_000)
  .meta({
    description:
      'Compact JWS (typ itsm-decision+jwt; ES256, RS256, PS256 or EdDSA) by the ITSM: iss the ITSM, aud this system, sub the approver, jti the event id, iat, and approvalId, decision, ticketId and comment as in data. Required: an unsigned decision is dead-lettered.',
  });

const itsmEvent = <T extends ItsmEventType, D extends z.ZodType, X extends z.ZodRawShape = Record<never, never>>(type: T, data: D, extensions?: X) =>
  z.looseObject({ ...envelope, ...(extensions ?? ({} as X)), type: z.literal(type), data });

export const itsmEventSchema = z
  .discriminatedUnion('type', [
    itsmEvent('itsm.access.requested', accessRequestedSchema),
    itsmEvent('itsm.access.revoke.requested', accessRevokeRequestedSchema),
    itsmEvent('itsm.approval.decided', approvalDecidedSchema, { signature: decisionSignatureSchema.optional() }),
  ])
  .superRefine((e, ctx) => {
    if (e.type === 'itsm.approval.decided') {
      const { approvalId, ticketId } = e.data;
      if (approvalId.startsWith('idn-') && !approvalId.startsWith(`idn-${e.subject}-`)) {
        ctx.addIssue({ code: 'custom', message: `subject must be the person whose approval ${approvalId} is`, path: ['subject'] });
      }
      if (ticketId !== undefined && approvalId.startsWith('req-') && !approvalId.startsWith(`req-${ticketId}.`)) {
        ctx.addIssue({ code: 'custom', message: `approval ${approvalId} is not an approval of ticket ${ticketId}`, path: ['data', 'ticketId'] });
      }
    } else if (e.subject !== e.data.beneficiaryId) {
      ctx.addIssue({ code: 'custom', message: 'subject must equal data.beneficiaryId', path: ['subject'] });
    }
  });
export type ItsmEvent = z.infer<typeof itsmEventSchema>;
export type AccessRequestedEvent = Extract<ItsmEvent, { type: 'itsm.access.requested' }>;
export type AccessRevokeRequestedEvent = Extract<ItsmEvent, { type: 'itsm.access.revoke.requested' }>;
export type ApprovalDecidedEvent = Extract<ItsmEvent, { type: 'itsm.approval.decided' }>;

/** Parses the bytes of a Kafka message: JSON first, then the schema; the reason says what is wrong. */
export const parseItsmEvent = (bytes: Buffer | string | null | undefined): ParseResult<ItsmEvent> => parseMessage(bytes, itsmEventSchema, 'itsm.requests CloudEvent');

/** The JSON Schema published for ITSM teams (`npm run schemas` writes it to schemas/json/). */
export const ITSM_JSON_SCHEMA_FILE = 'itsm-request-event.schema.json';

export function renderItsmJsonSchema(): string {
  const schema = { $id: `https://provisioner.dev/schemas/${ITSM_JSON_SCHEMA_FILE}`, ...z.toJSONSchema(itsmEventSchema, { io: 'input', target: 'draft-2020-12' }) };
  // The contract requires the signature of a decision; the zod schema leaves it optional only so
  // that the ingress can dead-letter an unsigned decision under its own reason (`unsigned-decision`).
  for (const branch of (schema as { oneOf?: Array<{ properties?: Record<string, unknown>; required?: string[] }> }).oneOf ?? []) {
    if (branch.properties?.signature && branch.required && !branch.required.includes('signature')) branch.required.push('signature');
  }
  return `${JSON.stringify(schema, null, 2)}\n`;
}

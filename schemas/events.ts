// The HR contract: CloudEvents 1.0 envelopes on `hr.lifecycle`, keyed by employee id, whose `data`
// is the worker's full snapshot (docs/architecture.md#events). What others send us is parsed tolerantly (unknown
// envelope extensions are kept, unknown snapshot fields are dropped); what matters is validated.
import { z } from 'zod';
import { personText } from './text.js';

/** Employee ids appear in workflow ids, Kafka keys and SCIM filters: keep them to a safe alphabet. */
export const employeeIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'an employee id is 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit');

export const hrEventTypes = [
  'hr.worker.hired',
  'hr.worker.updated',
  'hr.worker.terminated',
  'hr.worker.rehired',
  'hr.worker.leave.started',
  'hr.worker.leave.ended',
] as const;
export type HrEventType = (typeof hrEventTypes)[number];

const isoDateTime = z.iso.datetime({ offset: true });
const isoDate = z.iso.date();
/** Bounds on what one event may carry (README "Event format"): beyond them it is refused, naming the field. */
export const EVENT_LIMITS = { name: 200, email: 254, text: 200, extensionKeys: 50, extensionKey: 64, extensionValue: 1000 } as const;

const scalar = z.union([personText(EVENT_LIMITS.extensionValue), z.number(), z.boolean(), z.null()]);
const nameSchema = personText(EVENT_LIMITS.name, 1);
// RFC 5321 §4.5.3.1.3: a path is at most 256 octets, so an address at most 254. zod's address
// pattern is ASCII-only: controls, bidi characters and surrounding blanks are refused by it.
const emailSchema = z.email().max(EVENT_LIMITS.email);
const extensionsSchema = z
  .record(personText(EVENT_LIMITS.extensionKey, 1), scalar)
  .refine((r) => Object.keys(r).length <= EVENT_LIMITS.extensionKeys, { message: `at most ${EVENT_LIMITS.extensionKeys} extension attributes: drop the ones no policy maps` })
  .meta({ maxProperties: EVENT_LIMITS.extensionKeys });

/**
 * The worker snapshot HR sends. Fields the policy does not map (roles, groups, entitlements,
 * `active`) are not part of it and never taken from HR data: unknown keys are dropped.
 * Extension attributes go in `extensions`.
 */
export const workerSnapshotSchema = z.object({
  employeeId: employeeIdSchema,
  /** Monotonic per worker: the snapshot with the highest sequence wins. A safe integer (`Number.isSafeInteger`): beyond 2^53-1 two sequences can compare equal. */
  sequence: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  effectiveAt: isoDateTime,
  status: z.enum(['pre-hire', 'active', 'on-leave', 'terminated']),
  givenName: nameSchema.optional(),
  familyName: nameSchema.optional(),
  email: emailSchema.optional(),
  department: personText(EVENT_LIMITS.text).optional(),
  title: personText(EVENT_LIMITS.text).optional(),
  managerId: employeeIdSchema.optional(),
  location: personText(EVENT_LIMITS.text).optional(),
  region: personText(50).optional(),
  employmentType: z.enum(['employee', 'contractor', 'intern', 'temporary']).optional(),
  costCenter: personText(100).optional(),
  /**
   * The first day of work: a date, which starts at 00:00 in the policy's lifecycle.timezone, or an
   * RFC 3339 date-time for an exact moment (policy/dated.ts).
   */
  startDate: z.union([isoDate, isoDateTime]).optional(),
  endDate: isoDate.optional(),
  extensions: extensionsSchema.optional(),
});
export type WorkerSnapshot = z.infer<typeof workerSnapshotSchema>;

/** A hire must carry what an account needs. */
const hiredSnapshotSchema = workerSnapshotSchema.extend({
  givenName: nameSchema,
  familyName: nameSchema,
  email: emailSchema,
});

/** The CloudEvents 1.0 envelope every feed we consume shares (hr.lifecycle, itsm.requests). */
export const cloudEventEnvelope = {
  specversion: z.literal('1.0'),
  /** The dedupe key. */
  id: z.string().min(1).max(200),
  source: z.string().min(1).max(500),
  time: isoDateTime,
  /** The employee id; must equal data.employeeId. */
  subject: employeeIdSchema,
  datacontenttype: z.literal('application/json').optional(),
};

const hrEvent = <T extends HrEventType, D extends z.ZodType>(type: T, data: D) =>
  z.looseObject({ ...cloudEventEnvelope, type: z.literal(type), data });

/**
 * The plan follows the snapshot's status (a terminated status plans a leaver), the report follows
 * the type (only a termination reports the person deprovisioned): the two must agree, or a
 * termination with `status: active` is planned as a mover and reported as a termination, and an
 * update with `status: terminated` removes access without saying so. So `terminated` is the status
 * of `hr.worker.terminated` and of no other type.
 */
function statusContradiction(type: HrEventType, status: WorkerSnapshot['status']): string | undefined {
  if (type === 'hr.worker.terminated' && status !== 'terminated') return `a ${type} event must have status "terminated", not "${status}"`;
  if (type !== 'hr.worker.terminated' && status === 'terminated') return `status "terminated" is only for hr.worker.terminated events, not ${type}: send the termination as hr.worker.terminated`;
  return undefined;
}

export const hrEventSchema = z
  .discriminatedUnion('type', [
    hrEvent('hr.worker.hired', hiredSnapshotSchema),
    hrEvent('hr.worker.updated', workerSnapshotSchema),
    hrEvent('hr.worker.terminated', workerSnapshotSchema),
    hrEvent('hr.worker.rehired', hiredSnapshotSchema),
    hrEvent('hr.worker.leave.started', workerSnapshotSchema),
    hrEvent('hr.worker.leave.ended', workerSnapshotSchema),
  ])
  .superRefine((e, ctx) => {
    if (e.subject !== e.data.employeeId) ctx.addIssue({ code: 'custom', message: 'subject must equal data.employeeId', path: ['subject'] });
    const status = statusContradiction(e.type, e.data.status);
    if (status) ctx.addIssue({ code: 'custom', message: status, path: ['data', 'status'] });
  });
export type HrEvent = z.infer<typeof hrEventSchema>;

/** Why bytes are not an event: the dead-letter reason code of each (ingress/dead-letters.ts). */
export type ParseFailure = 'empty' | 'too-large' | 'invalid-json' | 'invalid-event';

export type ParseResult<T> = { ok: true; value: T } | { ok: false; code: ParseFailure; reason: string };

/**
 * The largest message read as an event, in bytes (64 KiB): a worker snapshot is well under 4 KiB,
 * and a bigger one is refused before JSON.parse, so no sender can make the consumer parse megabytes.
 */
export const MAX_EVENT_BYTES = 64 * 1024;

/**
 * Parses the bytes of a Kafka message: size, then JSON, then the schema; the reason says what is
 * wrong (`what` names the contract, e.g. "hr.lifecycle CloudEvent"). Shared by every consumer.
 */
export function parseMessage<S extends z.ZodType>(bytes: Buffer | string | null | undefined, schema: S, what: string): ParseResult<z.infer<S>> {
  if (bytes === null || bytes === undefined || bytes.length === 0) return { ok: false, code: 'empty', reason: 'empty message' };
  const size = typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.length;
  if (size > MAX_EVENT_BYTES) return { ok: false, code: 'too-large', reason: `message of ${size} bytes is over the ${MAX_EVENT_BYTES}-byte limit for a ${what}: not read` };
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString());
  } catch (err) {
    return { ok: false, code: 'invalid-json', reason: `not JSON: ${(err as Error).message}` };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) return { ok: false, code: 'invalid-event', reason: `not a valid ${what}: ${z.prettifyError(parsed.error)}` };
  return { ok: true, value: parsed.data };
}

export const parseHrEvent = (bytes: Buffer | string | null | undefined): ParseResult<HrEvent> => parseMessage(bytes, hrEventSchema, 'hr.lifecycle CloudEvent');

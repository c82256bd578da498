// The HR contract: CloudEvents 1.0 envelopes on `hr.lifecycle`, keyed by employee id, whose `data`
// is the worker's full snapshot (docs/architecture.md#events). What others send us is parsed tolerantly (unknown
// envelope extensions are kept, unknown snapshot fields are dropped); what matters is validated.
import { z } from 'zod';

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
const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/**
 * The worker snapshot HR sends. Fields the policy does not map (roles, groups, entitlements,
 * `active`) are not part of it and never taken from HR data: unknown keys are dropped.
 * Extension attributes go in `extensions`.
 */
export const workerSnapshotSchema = z.object({
  employeeId: employeeIdSchema,
  /** Monotonic per worker: the snapshot with the highest sequence wins. */
  sequence: z.number().int().nonnegative(),
  effectiveAt: isoDateTime,
  status: z.enum(['pre-hire', 'active', 'on-leave', 'terminated']),
  givenName: z.string().min(1).max(200).optional(),
  familyName: z.string().min(1).max(200).optional(),
  email: z.email().optional(),
  department: z.string().max(200).optional(),
  title: z.string().max(200).optional(),
  managerId: employeeIdSchema.optional(),
  location: z.string().max(200).optional(),
  region: z.string().max(50).optional(),
  employmentType: z.enum(['employee', 'contractor', 'intern', 'temporary']).optional(),
  costCenter: z.string().max(100).optional(),
  startDate: isoDate.optional(),
  endDate: isoDate.optional(),
  extensions: z.record(z.string(), scalar).optional(),
});
export type WorkerSnapshot = z.infer<typeof workerSnapshotSchema>;

/** A hire must carry what an account needs. */
const hiredSnapshotSchema = workerSnapshotSchema.extend({
  givenName: z.string().min(1).max(200),
  familyName: z.string().min(1).max(200),
  email: z.email(),
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

export const hrEventSchema = z
  .discriminatedUnion('type', [
    hrEvent('hr.worker.hired', hiredSnapshotSchema),
    hrEvent('hr.worker.updated', workerSnapshotSchema),
    hrEvent('hr.worker.terminated', workerSnapshotSchema),
    hrEvent('hr.worker.rehired', hiredSnapshotSchema),
    hrEvent('hr.worker.leave.started', workerSnapshotSchema),
    hrEvent('hr.worker.leave.ended', workerSnapshotSchema),
  ])
  .refine((e) => e.subject === e.data.employeeId, { message: 'subject must equal data.employeeId', path: ['subject'] });
export type HrEvent = z.infer<typeof hrEventSchema>;

export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * Parses the bytes of a Kafka message: JSON first, then the schema; the reason says what is wrong
 * (`what` names the contract, e.g. "hr.lifecycle CloudEvent"). Shared by every consumer.
 */
export function parseMessage<S extends z.ZodType>(bytes: Buffer | string | null | undefined, schema: S, what: string): ParseResult<z.infer<S>> {
  if (bytes === null || bytes === undefined || bytes.length === 0) return { ok: false, reason: 'empty message' };
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString());
  } catch (err) {
    return { ok: false, reason: `not JSON: ${(err as Error).message}` };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) return { ok: false, reason: `not a valid ${what}: ${z.prettifyError(parsed.error)}` };
  return { ok: true, value: parsed.data };
}

export const parseHrEvent = (bytes: Buffer | string | null | undefined): ParseResult<HrEvent> => parseMessage(bytes, hrEventSchema, 'hr.lifecycle CloudEvent');

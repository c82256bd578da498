// The identity a policy decides about: the HR worker snapshot's fields (schemas/events.ts) plus
// its extension attributes. Conditions see only the attributes the policy declares.
import { z } from 'zod';
import { workerSnapshotSchema } from '../schemas/events.js';
import type { AttributeDecl, AttributeType } from '../schemas/policy.js';
import type { CelContext } from './cel.js';

/** Snapshot fields read directly; any other declared attribute is read from `extensions`. */
export const snapshotAttributes = [
  'employeeId', 'status', 'department', 'title', 'managerId', 'location', 'region', 'employmentType', 'costCenter', 'startDate', 'endDate',
] as const;
const snapshotAttributeSet: ReadonlySet<string> = new Set(snapshotAttributes);

export function isSnapshotAttribute(name: string): boolean {
  return snapshotAttributeSet.has(name);
}

/**
 * What the policy reads of a person: the snapshot (tolerant: names, e-mail, sequence may be
 * present or not; unknown fields are dropped), of which only `employeeId` is required.
 */
export const identitySchema = workerSnapshotSchema.partial().required({ employeeId: true });
export type Identity = z.infer<typeof identitySchema>;

export type InvalidAttribute = { name: string; expected: AttributeType; got: string };

export type AttributeReader = (identity: Identity) => { context: CelContext; invalid: InvalidAttribute[] };

function typeName(v: unknown): string {
  if (Number.isInteger(v)) return 'int';
  return typeof v === 'number' ? 'double' : typeof v;
}

function convert(type: AttributeType, v: unknown): string | bigint | number | boolean | undefined {
  switch (type) {
    case 'string':
      return typeof v === 'string' ? v : undefined;
    case 'int':
      if (typeof v === 'bigint') return v;
      return typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : undefined;
    case 'double':
      return typeof v === 'number' ? v : undefined;
    case 'bool':
      return typeof v === 'boolean' ? v : undefined;
  }
}

/**
 * Builds the reader that turns an identity into the CEL context: present, well-typed attributes
 * only. An attribute that is absent or null is left out (missing); one of the wrong type is left
 * out too and reported as invalid.
 */
export function attributeReader(attributes: readonly AttributeDecl[]): AttributeReader {
  const plan = attributes.map((a) => ({ name: a.name, type: a.type, fromSnapshot: isSnapshotAttribute(a.name) }));
  return (identity) => {
    const context: CelContext = {};
    let invalid: InvalidAttribute[] | undefined;
    const snapshot = identity as Record<string, unknown>;
    for (const a of plan) {
      const raw = a.fromSnapshot ? snapshot[a.name] : identity.extensions?.[a.name];
      if (raw === undefined || raw === null) continue;
      const value = convert(a.type, raw);
      if (value === undefined) (invalid ??= []).push({ name: a.name, expected: a.type, got: typeName(raw) });
      else context[a.name] = value;
    }
    return { context, invalid: invalid ?? [] };
  };
}

// The shape of SCIM request bodies, checked with zod at the boundary before scimmy sees them:
// scimmy assumes the shape and otherwise fails with JavaScript error texts ("Cannot destructure
// property 'op' of 'operation' as it is null", "'set' on proxy: trap returned falsish") or a 500.
import { z } from 'zod';
import { scimError } from './scim-errors.js';

// RFC 7644 §3.5.2: "Operations" is an array of objects, each with "op" and, depending on the op,
// "path" and "value". With no path, add and replace take the resource itself as the target, so
// their value is an object of attributes (§3.5.2.1, §3.5.2.3).
const operationSchema = z
  .looseObject({ op: z.string(), path: z.string().optional(), value: z.unknown().optional() })
  .refine((o) => o.path !== undefined || o.op.toLowerCase() === 'remove' || (o.value !== null && typeof o.value === 'object' && !Array.isArray(o.value)), {
    message: 'without a path, the value must be an object of attributes (RFC 7644 §3.5.2.1)',
    path: ['value'],
  });
const patchSchema = z.looseObject({ Operations: z.array(operationSchema).min(1) });

/** Where a list in the body holds null (`emails: [null]`), or undefined. */
function nullInList(value: unknown, at: string): string | undefined {
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      if (item === null) return `${at}[${i}]`;
      const inner = nullInList(item, `${at}[${i}]`);
      if (inner) return inner;
    }
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const inner = nullInList(item, at ? `${at}.${key}` : key);
      if (inner) return inner;
    }
  }
  return undefined;
}

/**
 * A resource or PATCH body with no null inside a list: RFC 7643 §2.5 lets null stand for an
 * unassigned attribute, never for one value of a multi-valued one. 400 invalidValue otherwise.
 */
export function assertNoNullValues(body: unknown): void {
  const at = nullInList(body, '');
  if (at) throw scimError(400, 'invalidValue', `${at} is null; a multi-valued attribute lists values, not nulls (RFC 7643 §2.5)`);
}

/** A PATCH body whose Operations have the shape RFC 7644 §3.5.2 gives them; 400 invalidSyntax otherwise. */
export function assertPatchShape(body: unknown): void {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return; // scimmy answers 400 invalidSyntax itself
  const parsed = patchSchema.safeParse(body);
  if (!parsed.success) throw scimError(400, 'invalidSyntax', `PatchOp request body: ${z.prettifyError(parsed.error).replace(/\n\s*/g, ' ')}`);
  assertNoNullValues(body);
}

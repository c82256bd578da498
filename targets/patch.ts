// PATCH remove operations that select nothing. RFC 7644 §3.12 `noTarget`: "the specified path did
// not yield an attribute or attribute value that could be operated on. This occurs when the
// specified path value contains a filter that yields no match." scimmy's PatchOp quietly removes
// nothing in that case (and in the `path: members, value: [...]` form clients such as Entra ID
// send), so a client could not tell a revoke that applied from one that was already in effect.
// We check each remove against the resource as the operations before it left it, using scimmy's
// own PatchOp and Filter, and answer 400 noTarget before anything is written.
import SCIMMY from 'scimmy';
import { scimError } from './scim-errors.js';

type Schema = InstanceType<typeof SCIMMY.Types.Schema>;
type Operation = { op?: unknown; path?: unknown; value?: unknown };

const filtered = /^([^[\]]+)\[(.+)\](?:\.[^[\]]+)?$/;

function attributeValues(resource: Schema, name: string): unknown[] {
  const plain = JSON.parse(JSON.stringify(resource)) as Record<string, unknown>;
  const entry = Object.entries(plain).find(([k]) => k.toLowerCase() === name.toLowerCase());
  const value = entry?.[1];
  return Array.isArray(value) ? value : value === undefined ? [] : [value];
}

function matches(collection: unknown[], expression: string | object): unknown[] {
  const complex = collection.filter((v): v is Record<string, unknown> => v !== null && typeof v === 'object');
  return new SCIMMY.Types.Filter(expression).match(complex);
}

function multiValued(resource: Schema, path: string): boolean {
  const { definition } = resource.constructor as unknown as { definition: InstanceType<typeof SCIMMY.Types.SchemaDefinition> };
  try {
    return (definition.attribute(path) as unknown as { config?: { multiValued?: boolean } }).config?.multiValued === true;
  } catch {
    return false;
  }
}

/** Names what a remove would not find, or undefined when it has a target. */
function missingTarget(resource: Schema, operation: Operation): string | undefined {
  if (typeof operation.path !== 'string' || operation.path.toLowerCase().startsWith('urn:')) return undefined;
  const path = operation.path.trim();
  const withFilter = filtered.exec(path);
  if (withFilter) {
    const [, attribute, expression] = withFilter;
    return matches(attributeValues(resource, attribute!), expression!).length === 0
      ? `no value of ${attribute} matches [${expression}]`
      : undefined;
  }
  // Removing an attribute that has no value is a no-op; only values of multi-valued attributes are checked.
  if (operation.value === undefined || path.includes('.') || !multiValued(resource, path)) return undefined;
  const current = attributeValues(resource, path);
  const wanted = Array.isArray(operation.value) ? (operation.value as unknown[]) : [operation.value];
  const absent = wanted.filter((v) => {
    if (v !== null && typeof v === 'object') {
      const conditions = Object.entries(v).filter(([, x]) => x !== undefined && (typeof x !== 'object' || x === null));
      if (conditions.length === 0) return false;
      return matches(current, Object.fromEntries(conditions.map(([k, x]) => [k, ['eq', x]]))).length === 0;
    }
    return !current.includes(v);
  });
  // §3.5.2: a PATCH is atomic, so one value that is not there fails the whole request.
  return absent.length > 0 ? `${path} has no value ${absent.map((v) => JSON.stringify(v)).join(', ')}` : undefined;
}

/** Throws 400 noTarget for the first remove operation that would remove nothing. */
export async function assertRemoveTargets(message: unknown, resource: Schema): Promise<void> {
  // Validates the message as a whole first (scimmy's invalidSyntax / invalidValue / invalidPath).
  const patch = new SCIMMY.Messages.PatchOp(message as never);
  let state = resource;
  for (const [index, operation] of (patch.Operations as Operation[]).entries()) {
    if (typeof operation.op === 'string' && operation.op.toLowerCase() === 'remove') {
      const missing = missingTarget(state, operation);
      if (missing) throw scimError(400, 'noTarget', `${missing} for 'remove' op of operation ${index + 1} in PatchOp request body`);
    }
    if (index < patch.Operations.length - 1) {
      const single = new SCIMMY.Messages.PatchOp({ schemas: [SCIMMY.Messages.PatchOp.id], Operations: [operation] } as never);
      state = ((await single.apply(state as never)) as Schema | undefined) ?? state;
    }
  }
}

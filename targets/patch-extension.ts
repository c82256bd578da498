// PATCH operations whose path is a whole schema extension (RFC 7644 §3.5.2 with RFC 7643 §3.3:
// `"path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`). scimmy's PatchOp fails
// on them with JavaScript error texts ("Cannot convert undefined or null to object", "Cannot add
// property schemas, object is not extensible"), so we rewrite them into the equivalent operations
// it does apply:
// - add / replace with the extension as path: the same op without a path, its value the resource
//   fragment `{ "<urn>": value }` (§3.5.2.1, §3.5.2.3: "the target is assumed to be the resource
//   itself"). A `schemas` member inside the value names the extension the path already names
//   (scim2-models sends it); it is not an attribute of the extension, and is dropped.
// - remove with the extension as path: one remove per attribute of the extension (§3.5.2.2).
import SCIMMY from 'scimmy';

type Definition = InstanceType<typeof SCIMMY.Types.SchemaDefinition>;
type Operation = Record<string, unknown> & { op?: unknown; path?: unknown; value?: unknown };

function rewrite(operation: Operation, extension: Definition): Operation[] {
  const op = typeof operation.op === 'string' ? operation.op.toLowerCase() : '';
  if (op === 'remove') return extension.attributes.map((a) => ({ op: operation.op, path: `${extension.id}:${a.name}` }));
  if ((op === 'add' || op === 'replace') && operation.value !== null && typeof operation.value === 'object' && !Array.isArray(operation.value)) {
    const { schemas: _schemas, ...value } = operation.value as Record<string, unknown>;
    return [{ op: operation.op, value: { [extension.id]: value } }];
  }
  return [operation];
}

/** The PATCH body with operations on a whole extension of the resource's schema rewritten; any other body as it is. */
export function rewriteExtensionOperations(body: unknown, schema: Definition): unknown {
  const extensions = (schema.attributes as unknown[]).filter((a): a is Definition => a instanceof SCIMMY.Types.SchemaDefinition);
  if (body === null || typeof body !== 'object' || !Array.isArray((body as { Operations?: unknown }).Operations)) return body;
  const operations = (body as { Operations: unknown[] }).Operations;
  const extensionOf = (path: unknown) =>
    typeof path === 'string' ? extensions.find((e) => e.id.toLowerCase() === path.trim().toLowerCase()) : undefined;
  if (!operations.some((o) => o !== null && typeof o === 'object' && extensionOf((o as Operation).path))) return body;
  return {
    ...body,
    Operations: operations.flatMap((o) => {
      const extension = o !== null && typeof o === 'object' ? extensionOf((o as Operation).path) : undefined;
      return extension ? rewrite(o as Operation, extension) : [o];
    }),
  };
}

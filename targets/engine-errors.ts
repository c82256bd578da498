// scimmy turns every TypeError raised while it coerces or patches a resource into a 400 whose
// detail is the error's message. Most are its own, written for clients ("Attribute 'emails'
// expected to be a collection"); some come from the JavaScript engine when scimmy meets a shape it
// did not expect ("Cannot convert undefined or null to object"). Those say nothing a client can
// act on and reveal the implementation, so the answer keeps the status and scimType (RFC 7644
// §3.12) and replaces the text; the original goes to the log.

// V8's TypeError and RangeError messages that scimmy lets through.
const engineMessages = [
  /Cannot (?:read|set) propert(?:y|ies) of (?:undefined|null)/,
  /Cannot convert undefined or null to object/,
  /Cannot destructure property/,
  /Cannot (?:add|create|delete|redefine|assign to read only) property/,
  /object is not extensible/,
  /trap returned falsish/,
  /is not (?:a function|iterable|a constructor)/,
  /Invalid array length|Maximum call stack size exceeded/,
];

// The PatchOp operation scimmy names after the text, kept: it tells the client which one failed.
const operationSuffix = / for '(?:add|remove|replace)' op of operation \d+ in PatchOp request body$/;

/** The detail to answer with: `detail` itself, unless it is a JavaScript engine message. */
export function clientDetail(detail: string): { detail: string; engineMessage: boolean } {
  if (!engineMessages.some((m) => m.test(detail))) return { detail, engineMessage: false };
  const suffix = operationSuffix.exec(detail)?.[0] ?? '';
  return { detail: `the request does not fit the schema of this resource (RFC 7643 §2, §4)${suffix}`, engineMessage: true };
}

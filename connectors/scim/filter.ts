// SCIM filters (RFC 7644 §3.4.2.2) built from values, never by pasting values into a string.
//
// A compared value is a JSON string (`compValue = ... / string`, RFC 7644 §3.4.2.2 with RFC 7159
// strings), so quoting is JSON.stringify. But service providers' filter parsers differ in how they
// read escapes inside that string: some (scimmy, which our target app is built on) take `\"`
// as the end of the string and never decode `\\` or `\u0000`. A value with such characters would
// be refused (400 invalidFilter) or, worse, compared against something else. So for those values we
// ask for a superset that needs no escape (`sw` on the longest clean prefix, or `pr`) and keep only
// exact matches on our side. Every lookup compares the answer exactly anyway: the filter narrows,
// the client decides.

/** Characters that need an escape in a JSON string: quote, backslash and control characters. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what this looks for
const needsEscape = /["\\\u0000-\u001f\u007f]/;

/** A SCIM filter string literal: JSON string rules (RFC 7644 §3.4.2.2). */
export function scimString(value: string): string {
  return JSON.stringify(value);
}

/** A SCIM attribute path we put in a filter: names we choose, checked to be plain. */
function attributePath(path: string): string {
  if (!/^(?:urn:[A-Za-z0-9:._-]+:)?[A-Za-z][A-Za-z0-9$_-]*(?:\.[A-Za-z][A-Za-z0-9$_-]*)?$/.test(path)) {
    throw new TypeError(`not a plain SCIM attribute path: ${path}`);
  }
  return path;
}

export type ExactLookup = {
  /** The filter to send. */
  filter: string;
  /** True when the filter alone selects exactly the value (no escapes needed); the answer is still compared. */
  precise: boolean;
};

/**
 * A filter selecting resources whose `path` equals `value`. When `value` needs escapes, the filter
 * selects a superset (`path sw "<clean prefix>"` or `path pr`) and the caller keeps exact matches.
 */
export function equalityLookup(path: string, value: string): ExactLookup {
  const attr = attributePath(path);
  const at = value.search(needsEscape);
  if (at < 0) return { filter: `${attr} eq ${scimString(value)}`, precise: true };
  const prefix = value.slice(0, at);
  return { filter: prefix ? `${attr} sw ${scimString(prefix)}` : `${attr} pr`, precise: false };
}

/** Can `value` be compared in a filter without any escape? */
export function isFilterSafe(value: string): boolean {
  return !needsEscape.test(value);
}

/** `members[value eq "<id>"]`: the path of a PATCH remove of one member (RFC 7644 §3.5.2.2). */
export function memberValuePath(memberId: string): string {
  return `members[value eq ${scimString(memberId)}]`;
}

// Versioning with entity tags, RFC 7644 §3.14: every resource carries meta.version, answers carry
// it as ETag, and If-Match makes PUT, PATCH and DELETE conditional.
import { scimError } from './scim-errors.js';

const entityTag = /(?:W\/)?"[^"]*"/g;

/** The opaque part of an entity tag: weak comparison (RFC 9110 §8.8.3.2), which SCIM clients rely on. */
const opaque = (tag: string) => tag.replace(/^W\//, '');

/** Does an If-Match header (absent, `*`, or a list of entity tags) accept the current version? */
export function ifMatchAccepts(header: string | undefined, current: string): boolean {
  if (header === undefined || header.trim() === '') return true;
  if (header.trim() === '*') return true;
  const tags = header.match(entityTag) ?? [];
  return tags.some((tag) => opaque(tag) === opaque(current));
}

/** Does an If-None-Match header name the current version? (GET: answer 304 Not Modified.) */
export function ifNoneMatchMatches(header: string | undefined, current: string): boolean {
  if (header === undefined || header.trim() === '') return false;
  if (header.trim() === '*') return true;
  return (header.match(entityTag) ?? []).some((tag) => opaque(tag) === opaque(current));
}

/** Throws 412 Precondition Failed when If-Match names another version (RFC 7644 §3.14). */
export function assertIfMatch(header: string | undefined, current: string, what: string): void {
  if (!ifMatchAccepts(header, current)) {
    throw scimError(412, undefined, `If-Match ${header} does not match the current version ${current} of ${what}`);
  }
}

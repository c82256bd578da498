// Canonical JSON in the manner of RFC 8785 (JCS): object keys sorted by UTF-16 code units, no
// whitespace, strings and numbers serialised as ECMAScript's JSON.stringify does (which is what
// RFC 8785 §3.2.2 prescribes). The audit chain hashes and signs these exact bytes, so any two
// writers and any later verifier agree on them.

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * Serialises a JSON-plain value canonically. Properties whose value is `undefined` are left out
 * (as JSON.stringify does); anything that has no JSON meaning (NaN, Infinity, bigint, functions,
 * class instances such as Date) is a programmer error and throws a TypeError rather than being
 * silently coerced into bytes the verifier might not reproduce.
 */
export function canonicalize(value: unknown): string {
  return serialise(value, '$');
}

function serialise(value: unknown, where: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonical JSON: ${where} is ${value}, which JSON cannot represent`);
      // RFC 8785 §3.2.2.3: ECMAScript's Number serialisation; -0 becomes 0.
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) {
        return `[${value.map((item, i) => (item === undefined ? 'null' : serialise(item, `${where}[${i}]`))).join(',')}]`;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        throw new TypeError(`canonical JSON: ${where} is a ${proto?.constructor?.name ?? 'non-plain object'}; convert it to plain JSON first`);
      }
      // Default sort compares UTF-16 code units, exactly what RFC 8785 §3.2.3 asks for.
      const keys = Object.keys(value).sort();
      const parts: string[] = [];
      for (const key of keys) {
        const item = (value as Record<string, unknown>)[key];
        if (item === undefined) continue;
        parts.push(`${JSON.stringify(key)}:${serialise(item, `${where}.${key}`)}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      throw new TypeError(`canonical JSON: ${where} is a ${typeof value}, which JSON cannot represent`);
  }
}

// Escaping for LDAP distinguished names (RFC 4514) and search filters (RFC 4515), and a small DN
// parser. ldapts has helpers, but its RDN escaper leaves NUL alone and falls back to RFC 1779
// quoting for leading and trailing spaces, and its modifyDN splits the new DN at the first comma
// not preceded by a backslash (so `\\,` is split in the wrong place). Every escape here is a hex
// pair (`\2C`), which RFC 4514 §2.4 allows for any character and which no splitter can misread.
// The connector builds search filters as ldapts Filter objects (BER-encoded, never parsed from a
// string), so `escapeFilterValue` is for the places that need a filter string.

const hex = (code: number) => `\\${code.toString(16).toUpperCase().padStart(2, '0')}`;

/** RFC 4514 §2.4: an attribute value as it may stand in a DN string. */
export function escapeDnValue(value: string): string {
  if (value === '') throw new RangeError('an RDN value cannot be empty');
  const chars = [...value];
  return chars
    .map((ch, i) => {
      const code = ch.codePointAt(0)!;
      const special =
        '"+,;<>\\='.includes(ch) ||
        code < 0x20 ||
        code === 0x7f ||
        (i === 0 && (ch === '#' || ch === ' ')) ||
        (i === chars.length - 1 && ch === ' ');
      return special ? hex(code) : ch;
    })
    .join('');
}

/** RFC 4515 §3: an assertion value as it may stand in a filter string. */
export function escapeFilterValue(value: string): string {
  return [...value]
    .map((ch) => {
      const code = ch.codePointAt(0)!;
      return ch === '*' || ch === '(' || ch === ')' || ch === '\\' || code < 0x20 || code === 0x7f ? hex(code) : ch;
    })
    .join('');
}

/** `(attr=value)` with the value escaped; `attr` must be a plain attribute description. */
export function equalityFilter(attribute: string, value: string): string {
  if (!/^[A-Za-z][A-Za-z0-9-]*(;[A-Za-z0-9-]+)*$|^\d+(\.\d+)+$/.test(attribute)) throw new RangeError(`not an attribute description: ${attribute}`);
  return `(${attribute}=${escapeFilterValue(value)})`;
}

export type Ava = { type: string; value: string };
/** A DN as RDNs (most specific first), each a set of attribute type and value assertions. */
export type ParsedDn = Ava[][];

/** Parses an RFC 4514 DN string (hex pairs and escaped specials; `#` BER values are kept as written). */
export function parseDn(dn: string): ParsedDn {
  const rdns: ParsedDn = [];
  if (dn.trim() === '') return rdns;
  let i = 0;
  let rdn: Ava[] = [];
  const fail = (why: string): never => {
    throw new RangeError(`not a DN (${why} at ${i}): ${JSON.stringify(dn.slice(0, 80))}`);
  };
  while (i <= dn.length) {
    while (dn[i] === ' ') i += 1;
    const eq = dn.indexOf('=', i);
    if (eq < 0) fail('missing =');
    const type = dn.slice(i, eq).trim();
    if (!/^([A-Za-z][A-Za-z0-9-]*|\d+(\.\d+)*)$/.test(type)) fail('bad attribute type');
    i = eq + 1;
    const bytes: number[] = [];
    let raw = '';
    const flush = () => {
      if (bytes.length) {
        raw += Buffer.from(bytes).toString('utf8');
        bytes.length = 0;
      }
    };
    if (dn[i] === '#') {
      // hexstring (RFC 4514 §2.4 BER form): kept as written
      const start = i;
      i += 1;
      while (i < dn.length && /[0-9A-Fa-f]/.test(dn[i]!)) i += 1;
      raw = dn.slice(start, i);
    } else {
      let trailingUnescapedSpaces = 0;
      while (i < dn.length && dn[i] !== ',' && dn[i] !== '+' && dn[i] !== ';') {
        const ch = dn[i]!;
        if (ch === '\\') {
          const next = dn.slice(i + 1, i + 3);
          if (/^[0-9A-Fa-f]{2}$/.test(next)) {
            bytes.push(parseInt(next, 16));
            i += 3;
          } else if (i + 1 < dn.length) {
            flush();
            raw += dn[i + 1];
            i += 2;
          } else fail('dangling backslash');
          trailingUnescapedSpaces = 0;
          continue;
        }
        flush();
        const cp = dn.codePointAt(i)!;
        const s = String.fromCodePoint(cp);
        raw += s;
        trailingUnescapedSpaces = ch === ' ' ? trailingUnescapedSpaces + 1 : 0;
        i += s.length;
      }
      flush();
      if (trailingUnescapedSpaces) raw = raw.slice(0, raw.length - trailingUnescapedSpaces);
    }
    rdn.push({ type, value: raw });
    if (i >= dn.length) {
      rdns.push(rdn);
      break;
    }
    if (dn[i] === '+') {
      i += 1;
      continue;
    }
    rdns.push(rdn);
    rdn = [];
    i += 1;
  }
  return rdns;
}

/** Formats RDNs back into a DN string, every value escaped by `escapeDnValue`. */
export function formatDn(rdns: ParsedDn): string {
  return rdns.map((rdn) => rdn.map((ava) => `${ava.type}=${ava.value.startsWith('#') && /^#[0-9A-Fa-f]+$/.test(ava.value) ? ava.value : escapeDnValue(ava.value)}`).join('+')).join(',');
}

/** A comparable form for DNs whose values compare case-insensitively (ou, dc, cn, uid): enough to place an entry. */
export function normalizeDn(dn: string): string {
  return parseDn(dn)
    .map((rdn) =>
      rdn
        .map((ava) => `${ava.type.toLowerCase()}=${ava.value.toLowerCase().replace(/\s+/g, ' ').trim()}`)
        .sort()
        .join('+'),
    )
    .join(',');
}

/** The first RDN of `dn`, re-escaped. */
export function firstRdn(dn: string): string {
  const [rdn] = parseDn(dn);
  if (!rdn) throw new RangeError('the empty DN has no RDN');
  return formatDn([rdn]);
}

/**
 * normalizeDn, remembered for the DNs a listing meets over and over (the OUs that hold its entries,
 * the groups in memberOf): parsing them again for each of 100,000 entries was most of an LDAP
 * listing's CPU (bench/reconcile.ts). Bounded: emptied when full.
 */
const normalized = new Map<string, string>();
function normalizeDnCached(dn: string): string {
  let n = normalized.get(dn);
  if (n === undefined) {
    n = normalizeDn(dn);
    if (normalized.size >= 10_000) normalized.clear();
    normalized.set(dn, n);
  }
  return n;
}

/** Is `dn` an immediate child of `parent`? */
export function isChildOf(dn: string, parent: string): boolean {
  if (dn.trim() === '') return false;
  let above: string;
  try {
    above = formatParent(dn);
  } catch {
    return normalizeDnCached(parent) === ''; // a one-RDN DN is a child of the root only
  }
  return normalizeDnCached(above) === normalizeDnCached(parent);
}

/** Do `a` and `b` name the same entry? A DN that does not parse names none. */
export function sameDn(a: string, b: string): boolean {
  try {
    return normalizeDn(a) === normalizeDn(b);
  } catch {
    return false;
  }
}

/** The parent DN of `dn` as the server wrote it (everything after the first unescaped comma). */
export function formatParent(dn: string): string {
  for (let i = 0; i < dn.length; i += 1) {
    if (dn[i] === '\\') i += 1;
    else if (dn[i] === ',') return dn.slice(i + 1);
  }
  throw new RangeError(`${dn} has no parent`);
}

// Filtering and sorting stored resources with scimmy's filter parser and matcher, made to honour
// each attribute's caseExact characteristic: RFC 7644 §3.4.2.2 compares strings of caseExact=false
// attributes (userName, displayName, emails.value, ...) case-insensitively, and scimmy's
// Filter.match compares every string exactly. We lower-case both sides for those attributes, except
// for the ones an app compares exactly whatever the schema says (the `userNameCaseExact` behaviour).
import SCIMMY from 'scimmy';
import type { StoredRecord } from './store.js';

type Filter = InstanceType<typeof SCIMMY.Types.Filter>;
type Definition = InstanceType<typeof SCIMMY.Types.SchemaDefinition>;
type Expression = unknown[];
type ExpressionObject = { [attribute: string]: Expression | Expression[] | ExpressionObject };

const noValueComparators = new Set(['pr', 'np']);

/** Knows, per attribute path, whether a schema compares its string values case-insensitively. */
export class CaseRules {
  #cache = new Map<string, boolean>();
  #views = new WeakMap<StoredRecord, Record<string, unknown>>();

  /** `caseExact`: attribute paths compared exactly although the schema says caseExact=false. */
  constructor(
    private readonly definition: Definition,
    private readonly caseExact: readonly string[] = [],
  ) {}

  caseInsensitive(path: string): boolean {
    const known = this.#cache.get(path.toLowerCase());
    if (known !== undefined) return known;
    let result = false;
    if (this.caseExact.some((p) => p.toLowerCase() === path.toLowerCase())) {
      this.#cache.set(path.toLowerCase(), false);
      return false;
    }
    try {
      const attribute = this.definition.attribute(path) as unknown as { type?: unknown; config?: { caseExact?: boolean } };
      result = String(attribute.type) === 'string' && attribute.config?.caseExact === false;
    } catch {
      result = false; // not declared by the schema: compare exactly
    }
    this.#cache.set(path.toLowerCase(), result);
    return result;
  }

  /** The record with caseExact=false strings lower-cased (cached per stored record, which is immutable). */
  view(record: StoredRecord): Record<string, unknown> {
    let view = this.#views.get(record);
    if (!view) {
      view = this.#lowerValue(record, '') as Record<string, unknown>;
      // Filters name extension attributes by their full URN (`urn:...:User:employeeNumber eq "7"`),
      // while resources nest them under the extension's URN: expose both spellings to the matcher.
      for (const [urn, value] of Object.entries(view)) {
        if (urn.toLowerCase().startsWith('urn:') && value !== null && typeof value === 'object' && !Array.isArray(value)) {
          for (const [name, inner] of Object.entries(value)) view[`${urn}:${name}`] = inner;
        }
      }
      this.#views.set(record, view);
    }
    return view;
  }

  /** The filter with the compared values of caseExact=false attributes lower-cased. */
  lowerFilter(filter: Filter): Filter {
    const plain = JSON.parse(JSON.stringify([...filter])) as ExpressionObject[];
    return new SCIMMY.Types.Filter(plain.map((o) => this.#lowerObject(o, '')));
  }

  #lowerValue(value: unknown, path: string): unknown {
    if (Array.isArray(value)) return value.map((v) => this.#lowerValue(v, path));
    if (typeof value === 'string') return path && this.caseInsensitive(path) ? value.toLowerCase() : value;
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.#lowerValue(v, path ? `${path}.${k}` : k)]));
    }
    return value;
  }

  #lowerObject(object: ExpressionObject, prefix: string): ExpressionObject {
    const out: ExpressionObject = {};
    for (const [name, value] of Object.entries(object)) {
      const path = prefix ? `${prefix}.${name}` : name;
      if (Array.isArray(value)) {
        out[name] = value.every(Array.isArray)
          ? (value as Expression[]).map((e) => this.#lowerExpression(e, path))
          : this.#lowerExpression(value as Expression, path);
      } else {
        out[name] = this.#lowerObject(value, path);
      }
    }
    return out;
  }

  #lowerExpression(expression: Expression, path: string): Expression {
    if (!this.caseInsensitive(path)) return expression;
    const negated = String(expression[0]).toLowerCase() === 'not';
    const comparator = String(expression[negated ? 1 : 0]).toLowerCase();
    if (noValueComparators.has(comparator)) return expression;
    const at = negated ? 2 : 1;
    return expression.map((part, i) => (i === at && typeof part === 'string' ? part.toLowerCase() : part));
  }
}

/**
 * The top-level attributes a filter dives into (`emails[type eq "work"]`, `name.familyName eq "x"`).
 * scimmy's Filter.match fails ("Cannot convert undefined or null to object") on a resource that
 * lacks such an attribute; given an empty object it compares nothing and does not match, which is
 * what RFC 7644 §3.4.2.2 wants for an unassigned attribute.
 */
function complexAttributes(filter: Filter): string[] {
  const plain = JSON.parse(JSON.stringify([...filter])) as ExpressionObject[];
  return plain.flatMap((o) => Object.entries(o).filter(([, v]) => v !== null && typeof v === 'object' && !Array.isArray(v)).map(([k]) => k.toLowerCase()));
}

/** The records a filter selects, in their original order. */
export function matchRecords(records: StoredRecord[], filter: Filter, rules: CaseRules): StoredRecord[] {
  const lowered = rules.lowerFilter(filter);
  const dives = complexAttributes(lowered);
  const views = records.map((r) => {
    const view = rules.view(r);
    const missing = dives.filter((name) => !Object.keys(view).some((k) => k.toLowerCase() === name));
    return missing.length === 0 ? view : { ...view, ...Object.fromEntries(missing.map((name) => [name, {}])) };
  });
  const matched = new Set(lowered.match(views));
  return records.filter((_, i) => matched.has(views[i]!));
}

/**
 * RFC 7644 §3.4.2.3: sort by one attribute; a multi-valued attribute sorts by its primary (or
 * first) value; resources without a value sort last.
 */
export function sortRecords(
  records: StoredRecord[],
  sortBy: string,
  sortOrder: 'ascending' | 'descending',
  rules: CaseRules,
): StoredRecord[] {
  const path = sortBy.split('.');
  const keyed = records.map((record) => ({ record, key: sortKey(rules.view(record), path) }));
  const direction = sortOrder === 'descending' ? -1 : 1;
  keyed.sort((a, b) => {
    if (a.key === undefined || b.key === undefined) return a.key === b.key ? 0 : a.key === undefined ? 1 : -1;
    if (typeof a.key === 'number' && typeof b.key === 'number') return direction * (a.key - b.key);
    return direction * String(a.key).localeCompare(String(b.key));
  });
  return keyed.map((k) => k.record);
}

function sortKey(value: unknown, path: string[]): string | number | undefined {
  let current: unknown = value;
  for (const part of path) {
    if (Array.isArray(current)) current = (current.find((v) => (v as { primary?: boolean }).primary) ?? current[0]) as unknown;
    if (current === null || typeof current !== 'object') return undefined;
    const entry = Object.entries(current).find(([k]) => k.toLowerCase() === part.toLowerCase());
    current = entry?.[1];
  }
  if (Array.isArray(current)) {
    const first = (current.find((v) => (v as { primary?: boolean }).primary) ?? current[0]) as unknown;
    current = first !== null && typeof first === 'object' ? (first as { value?: unknown }).value : first;
  }
  if (typeof current === 'number' || typeof current === 'string') return current;
  if (typeof current === 'boolean') return String(current);
  return undefined;
}

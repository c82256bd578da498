import { describe, expect, it } from 'vitest';
import { celEnvironment, compileCondition, evaluateCondition, type CompiledCondition } from '../../../policy/cel.js';
import { evaluateIdentity } from '../../../policy/evaluator.js';
import { attributeReader } from '../../../policy/identity.js';
import type { AttributeDecl } from '../../../schemas/policy.js';
import { compiled, NOW, person } from './fixtures.js';

const attributes: AttributeDecl[] = [
  { name: 'department', type: 'string' },
  { name: 'level', type: 'int' },
  { name: 'trained', type: 'bool' },
  { name: 'fte', type: 'double' },
];
const env = celEnvironment(attributes);
const declared = new Set(attributes.map((a) => a.name));

function condition(source: string): CompiledCondition {
  const result = compileCondition(env, source, declared);
  if (!result.ok) throw new Error(result.diagnostic.message);
  return result.condition;
}

describe('CEL conditions are type-checked against the attribute schema', () => {
  it('accepts well-typed bool conditions and records the attributes they read', () => {
    const c = condition('department == "eng" && level >= 3 && !trained');
    expect(c.reads).toEqual(['department', 'level', 'trained']);
  });

  it.each([
    ['level == "3"', 'type', /no such overload: int == string/],
    ['department + 1 == "x"', 'type', /no such overload: string \+ int/],
    ['departmnt == "eng"', 'type', /Unknown variable: departmnt/],
    ['department', 'type', /must be of type bool/],
    ['department == "eng" &&', 'syntax', /Unexpected token/],
    ['department ==== "eng"', 'syntax', /.+/],
    ['department == Release Manager', 'syntax', /unexpected "Manager"/],
  ])('rejects %s (%s error)', (source, kind, message) => {
    const result = compileCondition(env, source, declared);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.diagnostic.kind).toBe(kind);
    expect(result.diagnostic.message).toMatch(message);
  });

  it('positions errors at the offending character', () => {
    const result = compileCondition(env, 'department == "eng" && level == "x"', declared);
    expect(!result.ok && result.diagnostic.index).toBe('department == "eng" && '.length);
  });
});

describe('a condition over an attribute the identity lacks', () => {
  const read = attributeReader(attributes);
  const run = (source: string, identity: Parameters<typeof read>[0]) => evaluateCondition(condition(source), read(identity).context);

  it('does not match, and names the missing attribute', () => {
    expect(run('level >= 3', { employeeId: 'E1' })).toEqual({ matched: false, missing: ['level'] });
    // Negation does not turn "unknown" into "true": missing data never grants access.
    expect(run('!(level >= 3)', { employeeId: 'E1' })).toEqual({ matched: false, missing: ['level'] });
    expect(run('department != "sales"', { employeeId: 'E1' })).toEqual({ matched: false, missing: ['department'] });
  });

  it('follows CEL when the rest of the condition decides: true || missing is true, false && missing is false', () => {
    expect(run('department == "eng" || level >= 3', { employeeId: 'E1', department: 'eng' })).toEqual({ matched: true });
    expect(run('level >= 3 || department == "eng"', { employeeId: 'E1', department: 'eng' })).toEqual({ matched: true });
    expect(run('department == "eng" && level >= 3', { employeeId: 'E1', department: 'sales' })).toEqual({ matched: false });
    expect(run('department == "eng" && level >= 3', { employeeId: 'E1', department: 'eng' })).toEqual({ matched: false, missing: ['level'] });
  });

  it('treats null and a value of the wrong type as missing, and reports the wrong type', () => {
    expect(run('trained', { employeeId: 'E1', extensions: { trained: null } })).toEqual({ matched: false, missing: ['trained'] });
    expect(read({ employeeId: 'E1', extensions: { level: '3', trained: 'yes', fte: 1 } }).invalid).toEqual([
      { name: 'level', expected: 'int', got: 'string' },
      { name: 'trained', expected: 'bool', got: 'string' },
    ]);
    expect(run('level >= 3', { employeeId: 'E1', extensions: { level: 3.5 } })).toEqual({ matched: false, missing: ['level'] });
  });

  it('reads ints from JSON numbers and doubles as numbers', () => {
    expect(run('level >= 3 && fte > 0.5', { employeeId: 'E1', extensions: { level: 4, fte: 0.8 } })).toEqual({ matched: true });
  });

  it('never blocks the evaluation: others are unaffected, and the person gets what other rules give', () => {
    const policy = compiled();
    // `checkers` reads level only when title == "Maker"; a Maker without level matches `makers` but not `checkers`.
    const maker = evaluateIdentity(policy, { identity: person({ title: 'Maker' }), now: NOW });
    expect(maker.skippedRules).toContainEqual({ rule: 'checkers', missing: ['level'] });
    expect(maker.matchedRules).toEqual(['all', 'makers']);
    expect(maker.roles.map((r) => r.id)).toEqual(['base', 'maker']);
    const noDepartment = evaluateIdentity(policy, { identity: person({ department: undefined }), now: NOW });
    expect(noDepartment.entitlements.map((e) => e.entitlement)).toEqual(['chat:all-staff', 'directory:staff']);
  });
});

// Birthright conditions in CEL (@marcbachmann/cel-js): one environment per policy, declaring each
// identity attribute with its type, so a condition is type-checked before it is ever evaluated;
// each condition is parsed and checked once per policy version.
//
// Missing attributes (docs/architecture.md#policy; tested in test/unit/policy/cel.test.ts). A condition is
// evaluated over the attributes the person has; an attribute that is absent, null or not of its
// declared type is missing. Reading a missing attribute is an error in CEL, and CEL's logical
// operators absorb errors when the other side decides (`true || error` is true, `false && error`
// is false, in either order). A condition that ends in an error, or in anything but `true`, is
// FALSE: the rule does not match that person, and the evaluation says which missing attributes it
// needed. It is never an error that stops the evaluation: one person's incomplete HR record blocks
// no one else, and missing data never grants access the rest of the condition does not decide.
import { Environment, type ASTNode } from '@marcbachmann/cel-js';
import type { AttributeDecl } from '../schemas/policy.js';

export type CelContext = Record<string, string | bigint | number | boolean>;

export type CompiledCondition = {
  source: string;
  /** The declared attributes the condition reads (to name the missing ones). */
  reads: string[];
  evaluate: (context: CelContext) => unknown;
};

export type CelDiagnostic = {
  kind: 'syntax' | 'type';
  message: string;
  /** Offset of the problem in the expression (0-based). */
  index: number;
};

export type CompileResult = { ok: true; condition: CompiledCondition } | { ok: false; diagnostic: CelDiagnostic };

/** The environment conditions are checked and evaluated in: one variable per declared attribute. */
export function celEnvironment(attributes: readonly AttributeDecl[], options: { dyn?: Iterable<string> } = {}): Environment {
  const env = new Environment({ unlistedVariablesAreDyn: false, homogeneousAggregateLiterals: true });
  const names = new Set<string>();
  for (const attr of attributes) {
    if (names.has(attr.name)) continue;
    names.add(attr.name);
    env.registerVariable(attr.name, attr.type);
  }
  // Attributes whose declaration is broken (reported elsewhere): dyn, so conditions using them are
  // not reported a second time as using an unknown variable.
  for (const name of options.dyn ?? []) {
    if (names.has(name) || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) continue;
    names.add(name);
    env.registerVariable(name, 'dyn');
  }
  return env;
}

type CelError = Error & { code?: string; summary?: string; range?: { start: number; end: number } };

function diagnosticOf(kind: CelDiagnostic['kind'], err: unknown, source?: string): CelDiagnostic {
  const e = err as CelError;
  let message = e.summary ?? e.message.split('\n')[0] ?? String(err);
  // cel-js names the last character of an unexpected word (`Release Manager` → 'r'): name the word.
  if (source !== undefined && e.range && e.range.end - e.range.start > 1 && message.startsWith('Unexpected character')) {
    message = `unexpected "${source.slice(e.range.start, e.range.end)}"`;
  }
  return { kind, message, index: e.range?.start ?? 0 };
}

/** Identifiers the expression reads (comprehension variables too; only declared names count). */
function identifiers(node: unknown, out: Set<string>): void {
  if (Array.isArray(node)) {
    for (const child of node) identifiers(child, out);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const n = node as { op?: string; args?: unknown };
  if (n.op === undefined) return;
  if (n.op === 'id' && typeof n.args === 'string') out.add(n.args);
  else identifiers(n.args, out);
}

/** Parses and type-checks `source`; a condition must be of type bool. */
export function compileCondition(env: Environment, source: string, declared: ReadonlySet<string>): CompileResult {
  return compileTyped(env, source, declared, 'bool', 'a condition');
}

/** Parses and type-checks `source`, which must be of `type` (`what` names it in the message). */
export function compileTyped(env: Environment, source: string, declared: ReadonlySet<string>, type: 'bool' | 'string', what: string): CompileResult {
  let parsed: ReturnType<Environment['parse']>;
  try {
    parsed = env.parse(source);
  } catch (err) {
    return { ok: false, diagnostic: diagnosticOf('syntax', err, source) };
  }
  const checked = parsed.check();
  if (!checked.valid) {
    const kind = checked.error?.name === 'ParseError' ? 'syntax' : 'type';
    return { ok: false, diagnostic: diagnosticOf(kind, checked.error, source) };
  }
  if (checked.type !== type) {
    return { ok: false, diagnostic: { kind: 'type', message: `${what} must be of type ${type}, this one is ${checked.type}`, index: 0 } };
  }
  const ids = new Set<string>();
  identifiers(parsed.ast as ASTNode, ids);
  const reads = [...ids].filter((id) => declared.has(id)).sort();
  return { ok: true, condition: { source, reads, evaluate: (context) => parsed(context) } };
}

export type ConditionOutcome =
  | { matched: true }
  | { matched: false; missing?: string[]; error?: string };

/** Evaluates a compiled condition with the meaning for missing attributes above. */
export function evaluateCondition(condition: CompiledCondition, context: CelContext): ConditionOutcome {
  try {
    return condition.evaluate(context) === true ? { matched: true } : { matched: false };
  } catch (err) {
    const missing = condition.reads.filter((name) => context[name] === undefined);
    if ((err as CelError).code === 'unknown_variable' && missing.length > 0) return { matched: false, missing };
    // Any other runtime error (e.g. int("x")) is this person's problem only: the rule does not match.
    return { matched: false, error: diagnosticOf('type', err).message };
  }
}

// What a schema cannot see: references between sections, duplicate ids, role inheritance cycles,
// CEL conditions (syntax and types against the attribute schema), approval chains (and the
// approver group `security` when a chain names security), durations that must relate, and access
// a single role or rule would grant against a blocking SoD rule.
// Every check reports with file, line and path; none stops the others.
import type { AttributeType, PolicyModel } from '../schemas/policy.js';
import { compileAttributeMaps } from './attribute-map.js';
import { celEnvironment, compileCondition, type CompiledCondition } from './cel.js';
import { findCycles, roleClosures } from './closure.js';
import { durationMs } from '../schemas/durations.js';
import { isSnapshotAttribute } from './identity.js';
import { emptyUnreadable, type Origin, type Origins, type Unreadable } from './merge.js';
import type { Problem } from './problems.js';
import { describeMember, sodConflicts } from './sod.js';
import { positionInScalar, problemAt } from './yaml-source.js';
import { formatPath } from './problems.js';

export type CheckResult = { problems: Problem[]; conditions: (CompiledCondition | undefined)[] };

const at = (origin: Origin, sub: (string | number)[], message: string, atKey = false): Problem =>
  problemAt(origin.source, [...origin.path, ...sub], message, { atKey });

const where = (origin: Origin): string => {
  const p = problemAt(origin.source, origin.path, '');
  return `${p.file}:${p.line}`;
};

/** Reports every second and later item with an id already used in the same list. */
function duplicates<T>(items: readonly T[], origins: readonly Origin[], idOf: (t: T) => string, what: string, key: string, out: Problem[]): Map<string, number> {
  const first = new Map<string, number>();
  items.forEach((item, i) => {
    const id = idOf(item);
    const seen = first.get(id);
    if (seen === undefined) first.set(id, i);
    else out.push(at(origins[i]!, [key], `duplicate ${what} "${id}" (first defined at ${where(origins[seen]!)})`));
  });
  return first;
}

const STANDARD_TYPE: AttributeType = 'string';

/** The approver `security` and the approver group it stands for. */
const SECURITY = 'security';

export function checkPolicy(model: PolicyModel, origins: Origins, unreadable: Unreadable = emptyUnreadable()): CheckResult {
  const problems: Problem[] = [];
  const p = (origin: Origin, sub: (string | number)[], message: string, atKey = false): void => {
    problems.push(at(origin, sub, message, atKey));
  };

  // ---- ids ----
  duplicates(model.attributes, origins.attributes, (a) => a.name, 'attribute', 'name', problems);
  const regions = new Set<string>();
  model.regions.forEach((r, i) => {
    if (regions.has(r)) p(origins.regions[i]!, [], `duplicate region "${r}"`);
    regions.add(r);
  });
  const groups = duplicates(model.approverGroups, origins.approverGroups, (g) => g.id, 'approver group', 'id', problems);
  const apps = duplicates(model.applications, origins.applications, (a) => a.id, 'application', 'id', problems);
  const roles = duplicates(model.roles, origins.roles, (r) => r.id, 'role', 'id', problems);
  duplicates(model.birthright, origins.birthright, (r) => r.id, 'birthright rule', 'id', problems);
  duplicates(model.separationOfDuties, origins.separationOfDuties, (r) => r.id, 'separation-of-duties rule', 'id', problems);
  const approvals = duplicates(model.approvals, origins.approvals, (r) => r.id, 'approval rule', 'id', problems);

  const entitlements = new Set<string>();
  model.applications.forEach((app, ai) => {
    const seen = new Set<string>();
    app.entitlements.forEach((e, ei) => {
      if (seen.has(e.id)) p(origins.applications[ai]!, ['entitlements', ei, 'id'], `duplicate entitlement "${e.id}" in application ${app.id}`);
      seen.add(e.id);
      entitlements.add(`${app.id}:${e.id}`);
    });
  });

  const approvalRef = (origin: Origin, sub: (string | number)[], id: string | undefined): void => {
    if (id !== undefined && !approvals.has(id) && !unreadable.approvals.has(id)) p(origin, sub, `unknown approval rule "${id}"${suggest(id, approvals.keys())}`);
  };
  const entitlementRefCheck = (origin: Origin, sub: (string | number)[], ref: string, context: string): void => {
    if (entitlements.has(ref) || unreadable.entitlements.has(ref)) return;
    const app = ref.slice(0, ref.indexOf(':'));
    if (unreadable.applications.has(app)) return;
    if (!apps.has(app)) p(origin, sub, `${context}unknown application "${app}" in "${ref}"${suggest(app, apps.keys())}`);
    else p(origin, sub, `${context}unknown entitlement "${ref}"${suggest(ref, [...entitlements].filter((e) => e.startsWith(`${app}:`)))}`);
  };
  const roleRef = (origin: Origin, sub: (string | number)[], id: string, context = ''): void => {
    if (!roles.has(id) && !unreadable.roles.has(id)) p(origin, sub, `${context}unknown role "${id}"${suggest(id, roles.keys())}`);
  };
  const approverRef = (origin: Origin, sub: (string | number)[], approver: string): void => {
    if (approver.startsWith('group:') && !groups.has(approver.slice(6)) && !unreadable.approverGroups.has(approver.slice(6))) p(origin, sub, `unknown approver group "${approver.slice(6)}"${suggest(approver.slice(6), groups.keys())}`);
    // `security` is the approver group of that id: without it nobody could ever decide as security.
    if (approver === SECURITY && !groups.has(SECURITY) && !unreadable.approverGroups.has(SECURITY)) {
      p(origin, sub, `approver security means the approver group "security", and there is none: add one to approverGroups (id: security, members: [...])`);
    }
  };

  // ---- attributes ----
  model.attributes.forEach((a, i) => {
    if (isSnapshotAttribute(a.name) && a.type !== STANDARD_TYPE) {
      p(origins.attributes[i]!, ['type'], `${a.name} is a worker snapshot field of type ${STANDARD_TYPE}, not ${a.type}`);
    }
  });

  // ---- applications ----
  model.applications.forEach((app, ai) => {
    const o = origins.applications[ai]!;
    if (!groups.has(app.owner) && !unreadable.approverGroups.has(app.owner)) p(o, ['owner'], `unknown approver group "${app.owner}" as owner${suggest(app.owner, groups.keys())}`);
    approvalRef(o, ['approval'], app.approval);
    if (regions.size > 0) {
      app.allowedRegions?.forEach((r, ri) => {
        if (!regions.has(r) && !unreadable.regions.has(r)) p(o, ['allowedRegions', ri], `unknown region "${r}" (regions: ${[...regions].join(', ')})`);
      });
    }
    if (app.correlation) {
      approvalRef(o, ['correlation', 'approval'], app.correlation.approval);
      if (app.correlation.adopt === 'after-approval' && !(app.correlation.approval ?? app.approval)) {
        p(o, ['correlation', 'adopt'], 'adopt: after-approval needs an approval rule (correlation.approval or the application\'s approval)');
      }
    }
    app.entitlements.forEach((e, ei) => {
      approvalRef(o, ['entitlements', ei, 'approval'], e.approval);
      if ((e.sensitivity === 'high' || e.sensitivity === 'privileged') && !(e.approval ?? app.approval)) {
        p(o, ['entitlements', ei, 'sensitivity'], `a ${e.sensitivity} entitlement needs an approval chain: set approval on it or on application ${app.id}`);
      }
    });
  });

  // ---- approval rules ----
  model.approvals.forEach((rule, i) => {
    const o = origins.approvals[i]!;
    rule.approvers.forEach((a, ai) => approverRef(o, ['approvers', ai], a));
    if (rule.reminder !== undefined && durationMs(rule.reminder) >= durationMs(rule.timeout)) {
      p(o, ['reminder'], `reminder after ${rule.reminder} comes no sooner than the timeout ${rule.timeout}: it would never be sent`);
    }
    if (rule.escalation) {
      approverRef(o, ['escalation', 'to'], rule.escalation.to);
      if (durationMs(rule.escalation.after) >= durationMs(rule.timeout)) {
        p(o, ['escalation', 'after'], `escalation after ${rule.escalation.after} comes no sooner than the timeout ${rule.timeout}: it would never happen`);
      }
    }
  });

  // ---- roles ----
  model.roles.forEach((role, i) => {
    const o = origins.roles[i]!;
    role.inherits.forEach((id, j) => roleRef(o, ['inherits', j], id));
    role.entitlements.forEach((ref, j) => entitlementRefCheck(o, ['entitlements', j], ref, ''));
  });
  const cycles = findCycles(model.roles);
  for (const cycle of cycles) {
    // Report at the edge from the cycle's first role to the next one.
    const from = cycle[0]!;
    const to = cycle[1 % cycle.length]!;
    const ri = roles.get(from)!;
    const edge = model.roles[ri]!.inherits.indexOf(to);
    p(origins.roles[ri]!, ['inherits', Math.max(edge, 0)], `role inheritance cycle: ${[...cycle, from].join(' → ')}`);
  }

  // ---- birthright rules (CEL) ----
  const env = celEnvironment(model.attributes, { dyn: unreadable.attributes });
  const declared = new Set(model.attributes.map((a) => a.name));
  const conditions = model.birthright.map((rule, i) => {
    const o = origins.birthright[i]!;
    rule.roles.forEach((id, j) => roleRef(o, ['roles', j], id));
    const compiled = compileCondition(env, rule.when, declared);
    if (compiled.ok) return compiled.condition;
    const path = [...o.path, 'when'];
    const pos = positionInScalar(o.source, path, compiled.diagnostic.index);
    problems.push({
      file: o.source.name,
      line: pos.line,
      column: pos.column,
      path: formatPath(path),
      message: `CEL ${compiled.diagnostic.kind} error at column ${pos.column}: ${compiled.diagnostic.message}`,
    });
    return undefined;
  });

  // ---- attribute maps (CEL, of type string) ----
  for (const problem of compileAttributeMaps(model, unreadable.attributes).problems) {
    const o = origins.applications[problem.app]!;
    if (!problem.diagnostic) {
      p(o, ['attributes', problem.name], problem.message, problem.atKey);
      continue;
    }
    const path = [...o.path, 'attributes', problem.name];
    const pos = positionInScalar(o.source, path, problem.diagnostic.index);
    problems.push({ file: o.source.name, line: pos.line, column: pos.column, path: formatPath(path), message: `${problem.message} at column ${pos.column}: ${problem.diagnostic.message}` });
  }

  // ---- separation of duties ----
  model.separationOfDuties.forEach((rule, i) => {
    const o = origins.separationOfDuties[i]!;
    rule.entitlements.forEach((ref, j) => entitlementRefCheck(o, ['entitlements', j], ref, 'separation of duties names '));
    rule.roles.forEach((id, j) => roleRef(o, ['roles', j], id, 'separation of duties names '));
    approvalRef(o, ['approval'], rule.approval);
    if (rule.severity === 'review' && rule.approval === undefined) p(o, ['severity'], 'severity review needs `approval`: the approval rule that reviews the conflict');
  });

  // A role or a single rule that by itself breaks a blocking SoD rule can never be granted: say so now.
  if (cycles.length === 0) {
    const closures = roleClosures(model.roles);
    const held = (roleIds: readonly string[]) => {
      const rs = new Set<string>();
      for (const r of roleIds) for (const c of closures[r] ?? []) rs.add(c);
      const es = new Set<string>();
      for (const r of rs) for (const e of model.roles[roles.get(r)!]!.entitlements) es.add(e);
      return { roles: rs, entitlements: es };
    };
    const blocking = model.separationOfDuties.filter((r) => r.severity === 'block');
    model.roles.forEach((role, i) => {
      for (const m of sodConflicts(blocking, held([role.id]))) {
        p(origins.roles[i]!, ['id'], `role ${role.id} alone holds ${m.members.map(describeMember).join(' and ')}, which separation-of-duties rule ${m.rule.id} blocks`);
      }
    });
    model.birthright.forEach((rule, i) => {
      if (rule.roles.length < 2 || !rule.roles.every((r) => roles.has(r))) return;
      for (const m of sodConflicts(blocking, held(rule.roles))) {
        p(origins.birthright[i]!, ['roles'], `rule ${rule.id} grants ${m.members.map(describeMember).join(' and ')}, which separation-of-duties rule ${m.rule.id} blocks`);
      }
    });
  }

  // ---- fencing ----
  if (origins.fencing) {
    for (const app of Object.keys(model.fencing.perApplication)) {
      if (app !== 'default' && !apps.has(app) && !unreadable.applications.has(app)) p(origins.fencing, ['perApplication', app], `unknown application "${app}"${suggest(app, apps.keys())}`, true);
    }
  }

  return { problems, conditions };
}

/** ` (did you mean "x"?)` for a near miss, else ``. */
function suggest(id: string, candidates: Iterable<string>): string {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(id.length / 4));
  for (const c of candidates) {
    const d = editDistance(id, c);
    if (d <= bestDistance) {
      best = c;
      bestDistance = d - 1;
    }
  }
  return best === undefined ? '' : ` (did you mean "${best}"?)`;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

// A small policy for the unit tests, as in-memory YAML files, and helpers to load it.
import type { CompiledPolicy } from '../../../policy/compile.js';
import type { Identity } from '../../../policy/identity.js';
import { loadPolicy, type LoadResult, type SourceFile } from '../../../policy/loader.js';

export const baseFiles: Record<string, string> = {
  'attributes.yaml': `attributes:
  - { name: employeeId, type: string }
  - { name: department, type: string }
  - { name: region, type: string }
  - { name: employmentType, type: string }
  - { name: title, type: string }
  - { name: level, type: int }
  - { name: trained, type: bool }
regions: [eu, us]
`,
  'approvals.yaml': `approverGroups:
  - { id: owners, members: [O1, O2] }
  - { id: finance-leads, members: [F1, F2, F3] }
  - { id: security, members: [S1, S2] }
approvals:
  - { id: mgr, mode: any-of, approvers: [manager] }
  - { id: sec, mode: any-of, approvers: [security], timeout: P2D }
  - { id: two, mode: n-of-m, required: 2, approvers: [manager, app-owner, "group:finance-leads"] }
`,
  'applications.yaml': `applications:
  - id: chat
    connector: scim
    config: chat
    owner: owners
    classification: internal
    entitlements:
      - { id: all-staff }
      - { id: eng }
  - id: code
    connector: scim
    config: code
    owner: owners
    classification: confidential
    entitlements:
      - { id: developers }
      - { id: release-author }
      - { id: release-approver, sensitivity: high, approval: mgr }
      - { id: admin, sensitivity: privileged, approval: two, maxDuration: P30D }
  - id: crm
    connector: scim
    config: crm
    owner: owners
    classification: restricted
    allowedRegions: [eu]
    correlation: { matchBy: email, adopt: automatic }
    entitlements:
      - { id: users }
      - { id: refund-issue, sensitivity: high, approval: two }
      - { id: refund-approve, sensitivity: high, approval: two }
  - id: directory
    connector: ldap
    config: ldap
    owner: owners
    classification: internal
    entitlements:
      - { id: staff }
`,
  'roles.yaml': `roles:
  - id: base
    entitlements: [chat:all-staff, directory:staff]
  - id: engineer
    inherits: [base]
    entitlements: [code:developers, chat:eng]
  - id: reviewer
    inherits: [base]
    entitlements: [code:release-approver]
  - id: lead
    inherits: [engineer, reviewer]
  - id: author
    inherits: [engineer]
    entitlements: [code:release-author]
  - id: maker
    inherits: [base]
    entitlements: [crm:refund-issue]
  - id: checker
    inherits: [base]
    entitlements: [crm:refund-approve]
  - id: crm-user
    entitlements: [crm:users]
`,
  'birthright.yaml': `birthright:
  - id: all
    when: employmentType == "employee"
    roles: [base]
  - id: eng
    when: department == "eng"
    roles: [engineer]
  - id: leads
    when: title == "Lead"
    roles: [lead]
  - id: authors
    when: title == "Author" || title == "Lead Author"
    roles: [author]
  - id: lead-authors
    when: title == "Lead Author"
    roles: [lead]
  - id: makers
    when: title == "Maker"
    roles: [maker]
  - id: checkers
    when: title == "Checker" || (title == "Maker" && level >= 9)
    roles: [checker]
  - id: sales
    when: department == "sales"
    roles: [crm-user]
`,
  'sod.yaml': `separationOfDuties:
  - id: refunds
    severity: block
    entitlements: [crm:refund-issue, crm:refund-approve]
  - id: release
    severity: review
    entitlements: [code:release-author, code:release-approver]
    approval: sec
`,
  'lifecycle.yaml': `lifecycle:
  moverGracePeriod: P7D
  leaverDeletionDelay: P30D
  personalDataRetention: P2Y
`,
};

/** The base files with some replaced or added (a null value removes the file). */
export function files(overrides: Record<string, string | null> = {}): SourceFile[] {
  const merged: Record<string, string | null> = { ...baseFiles, ...overrides };
  return Object.entries(merged)
    .filter((e): e is [string, string] => e[1] !== null)
    .map(([name, content]) => ({ name, content }));
}

export function load(overrides: Record<string, string | null> = {}): LoadResult {
  return loadPolicy(files(overrides));
}

export function compiled(overrides: Record<string, string | null> = {}): CompiledPolicy {
  const result = load(overrides);
  if (!result.ok) throw new Error(`fixture policy has problems:\n${result.problems.map((p) => `${p.file}:${p.line}: ${p.path}: ${p.message}`).join('\n')}`);
  return result.policy;
}

export function person(attrs: Partial<Identity> = {}): Identity {
  return { employeeId: 'E1', status: 'active', employmentType: 'employee', region: 'eu', managerId: 'M1', ...attrs };
}

export const NOW = '2026-01-05T10:00:00.000Z';

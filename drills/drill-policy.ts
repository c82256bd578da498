// The drill's policy: the example policy's attributes, approvals and lifecycle with two SCIM
// applications (`drill-chat`, `drill-code`, two groups each, everyone gets all four; `drill-code`'s
// `admin` only through an approved request, for the approvals drill).
// The fence stays on with thresholds sized to the workload (a drill's leavers are a share of its
// joiners, and the fence is not what a worker or broker drill measures); the mass-termination
// drill keeps the example's thresholds. No directory application unless asked (`directory`: the
// slapd-down drill's LDAP application, the same two groups, in the drill's own subtree).
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { projectRoot } from '../schemas/config.js';

export const DRILL_APPS = ['drill-chat', 'drill-code'] as const;
export const DRILL_GROUPS = ['staff', 'tools'] as const;

/**
 * Access beyond birthright, for the approvals drill: `drill-code`'s group `admin`, requested through
 * the ITSM and granted only with the approval `drill-approval` of a member of `drill-approvers`.
 */
export const DRILL_REQUESTABLE = { app: 'drill-code', id: 'admin', approval: 'drill-approval', approverGroup: 'drill-approvers', approvers: ['DAPPROVER01', 'DAPPROVER02'] } as const;

/** The LDAP application of a pipeline that asks for a directory (the config's `ldap` section says where). */
export const DRILL_DIRECTORY_APP = 'drill-directory';

/** The entitlements every employee of a drill should hold: `<app>` → its groups. */
export const expectedGroups = (): Map<string, readonly string[]> => new Map(DRILL_APPS.map((app) => [app, DRILL_GROUPS]));

/** The policy's application quarantine (lifecycle.yaml `quarantine`), e.g. its probe time-compressed for a drill. */
export type DrillQuarantine = { failures: number; window: string; probeEvery: string };

export function writeDrillPolicy(options: { fence: 'sized-to-workload' | 'example'; quarantine?: DrillQuarantine | undefined; directory?: boolean | undefined }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'drill-policy-'));
  cpSync(path.join(projectRoot, 'examples', 'policy'), dir, { recursive: true });
  for (const extra of ['applications', 'separation-of-duties.yaml', 'README.md', 'reconcile.yaml']) rmSync(path.join(dir, extra), { recursive: true, force: true });
  const apps = DRILL_APPS.flatMap((app) => [
    `  - id: ${app}`,
    `    description: The drill's SCIM application ${app}.`,
    `    connector: scim`,
    `    config: ${app}`,
    `    owner: it-operations`,
    `    classification: internal`,
    `    allowedRegions: [eu, us]`,
    `    entitlements:`,
    ...DRILL_GROUPS.map((g) => `      - { id: ${g} }`),
    ...(app === DRILL_REQUESTABLE.app ? [`      - { id: ${DRILL_REQUESTABLE.id}, sensitivity: high, approval: ${DRILL_REQUESTABLE.approval}, maxDuration: P30D }`] : []),
  ]);
  if (options.directory) {
    apps.push(
      `  - id: ${DRILL_DIRECTORY_APP}`,
      `    description: The drill's LDAP directory (its own slapd, its own subtree).`,
      `    connector: ldap`,
      `    config: ldap`,
      `    owner: it-operations`,
      `    classification: internal`,
      `    allowedRegions: [eu, us]`,
      `    attributes: { uid: email, cn: 'givenName + " " + familyName', sn: familyName, givenName: givenName, mail: email, title: title }`,
      `    entitlements:`,
      ...DRILL_GROUPS.map((g) => `      - { id: ${g} }`),
    );
  }
  const approvals = path.join(dir, 'approvals.yaml');
  const rules = parse(readFileSync(approvals, 'utf8')) as { approverGroups: unknown[]; approvals: unknown[] };
  rules.approverGroups.push({ id: DRILL_REQUESTABLE.approverGroup, description: "The drill's approvers", members: [...DRILL_REQUESTABLE.approvers] });
  rules.approvals.push({ id: DRILL_REQUESTABLE.approval, description: 'A drill approver, within three days.', mode: 'any-of', approvers: [`group:${DRILL_REQUESTABLE.approverGroup}`], timeout: 'P3D' });
  writeFileSync(approvals, stringify(rules));
  writeFileSync(path.join(dir, 'applications.yaml'), `applications:\n${apps.join('\n')}\n`);
  const entitlements = [...DRILL_APPS, ...(options.directory ? [DRILL_DIRECTORY_APP] : [])].flatMap((app) => DRILL_GROUPS.map((g) => `${app}:${g}`));
  writeFileSync(path.join(dir, 'roles.yaml'), `roles:\n  - id: drill-employee\n    entitlements: [${entitlements.join(', ')}]\n`);
  writeFileSync(path.join(dir, 'birthright.yaml'), `birthright:\n  - id: everyone\n    when: employmentType == "employee"\n    roles: [drill-employee]\n`);
  const lifecycle = path.join(dir, 'lifecycle.yaml');
  let text = readFileSync(lifecycle, 'utf8').replace(/\n {4}# The directory also runs the VPN[^\n]*\n {4}directory:\n[^\n]*\n/, '\n');
  if (options.fence === 'sized-to-workload') text = text.replace(/absolute: \d+, share: [\d.]+/g, 'absolute: 1000000, share: 1');
  const q = options.quarantine;
  if (q) {
    const block = /\nquarantine:\n(?: {2}[^\n]*\n)+/;
    if (!block.test(text)) throw new Error(`the example policy's lifecycle.yaml has no top-level quarantine block to replace`);
    text = text.replace(block, `\nquarantine:\n  failures: ${q.failures}\n  window: ${q.window}\n  probeEvery: ${q.probeEvery}\n`);
  }
  writeFileSync(lifecycle, text);
  return dir;
}

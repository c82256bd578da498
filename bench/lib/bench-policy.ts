// The bench's policy: the example policy's attribute schema, approvals and lifecycle, with N
// synthetic SCIM applications (`app1`..`appN`) of three groups each, and one birthright rule that
// gives every employee all of them. No LDAP application (the directory is a different benchmark),
// no approvals on these groups, and fencing thresholds raised so that the bench's leavers are
// never held for a human (the safety valve is not what is measured here).
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../schemas/config.js';

export const GROUPS_PER_APP = 3;

export function benchAppNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `app${i + 1}`);
}

export function writeBenchPolicy(appCount: number): { dir: string; apps: string[]; groups: Map<string, string[]> } {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-policy-'));
  cpSync(path.join(projectRoot, 'examples', 'policy'), dir, { recursive: true });
  rmSync(path.join(dir, 'applications'), { recursive: true, force: true });
  rmSync(path.join(dir, 'separation-of-duties.yaml'), { force: true });
  rmSync(path.join(dir, 'README.md'), { force: true });
  const apps = benchAppNames(appCount);
  const groups = new Map(apps.map((app) => [app, Array.from({ length: GROUPS_PER_APP }, (_, g) => `group${g + 1}`)]));
  const appYaml = ['applications:'];
  for (const app of apps) {
    appYaml.push(
      `  - id: ${app}`,
      `    description: Bench SCIM app ${app}.`,
      `    connector: scim`,
      `    config: ${app}`,
      `    owner: it-operations`,
      `    classification: internal`,
      `    allowedRegions: [eu, us]`,
      `    correlation: { matchBy: email, adopt: automatic }`,
      `    entitlements:`,
      ...groups.get(app)!.map((g) => `      - { id: ${g} }`),
    );
  }
  writeFileSync(path.join(dir, 'applications.yaml'), `${appYaml.join('\n')}\n`);
  const entitlements = apps.flatMap((app) => groups.get(app)!.map((g) => `${app}:${g}`));
  writeFileSync(path.join(dir, 'roles.yaml'), `roles:\n  - id: bench-employee\n    entitlements: [${entitlements.join(', ')}]\n`);
  writeFileSync(path.join(dir, 'birthright.yaml'), `birthright:\n  - id: everyone\n    when: employmentType == "employee"\n    roles: [bench-employee]\n`);
  const lifecycle = path.join(dir, 'lifecycle.yaml');
  const text = readFileSync(lifecycle, 'utf8')
    .replace(/absolute: \d+, share: [\d.]+/g, 'absolute: 1000000, share: 1')
    .replace(/\n {4}# The directory also runs the VPN[^\n]*\n {4}directory:\n[^\n]*\n/, '\n');
  writeFileSync(lifecycle, text);
  return { dir, apps, groups };
}

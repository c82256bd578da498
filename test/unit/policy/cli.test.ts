import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { policyDiff, policyExplain, policyValidate, registerPolicyCommands } from '../../../cli/commands/policy.js';
import type { PolicyDiff } from '../../../policy/diff.js';

const EXAMPLE = 'examples/policy';
const IDENTITIES = 'examples/identities.jsonl';
const NOW = '2026-01-05T10:00:00Z';
const tmp = mkdtempSync(path.join(os.tmpdir(), 'policy-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A copy of the example policy with `edits` applied to its files (search → replace). */
function variant(name: string, edits: Record<string, [string, string][]>): string {
  const dir = path.join(tmp, name);
  cpSync(EXAMPLE, dir, { recursive: true });
  for (const [file, replacements] of Object.entries(edits)) {
    let text = readFileSync(path.join(dir, file), 'utf8');
    for (const [from, to] of replacements) {
      expect(text.includes(from), `${file} contains ${from}`).toBe(true);
      text = text.replace(from, to);
    }
    writeFileSync(path.join(dir, file), text);
  }
  return dir;
}

function lineOf(file: string, needle: string): number {
  return readFileSync(file, 'utf8').split('\n').findIndex((l) => l.includes(needle)) + 1;
}

type Row = { employeeId: string; department?: string; title?: string; employmentType?: string; status?: string; extensions?: Record<string, unknown> };
const identities: Row[] = readFileSync(IDENTITIES, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Row);

describe('provisioner policy validate', () => {
  it('passes on the example policy', () => {
    const r = policyValidate(EXAMPLE);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^examples\/policy: valid, policy sha256:[0-9a-f]{16} \(11 files: 4 applications/);
  });

  it('fails on a role inheritance cycle, naming file and line', () => {
    const dir = variant('cycle', { 'roles.yaml': [['  - id: employee\n    description: Every employee and intern.\n', '  - id: employee\n    description: Every employee and intern.\n    inherits: [engineer]\n']] });
    const r = policyValidate(dir);
    expect(r.code).toBe(1);
    const line = lineOf(path.join(dir, 'roles.yaml'), 'inherits: [engineer]');
    expect(r.stderr).toContain(`${path.join(dir, 'roles.yaml')}:${line}: roles[0].inherits[0]: role inheritance cycle: employee → engineer → employee`);
    expect(r.stderr).toMatch(/1 problem \(policy sha256:/);
  });

  it('fails on a CEL error, naming file, line and column', () => {
    const dir = variant('cel', { 'birthright.yaml': [['when: department == "Product" && employmentType == "employee"', 'when: department == "Product" && level == "senior"']] });
    const r = policyValidate(dir);
    expect(r.code).toBe(1);
    const line = lineOf(path.join(dir, 'birthright.yaml'), 'level == "senior"');
    expect(r.stderr).toContain(`${path.join(dir, 'birthright.yaml')}:${line}: birthright[`);
    expect(r.stderr).toMatch(/\.when: CEL type error at column \d+: no such overload: int == string/);
  });

  it('prints JSON with --json and exits 2 on a directory that does not exist', () => {
    const json = JSON.parse(policyValidate(EXAMPLE, { json: true }).stdout) as { ok: boolean; problems: unknown[] };
    expect(json).toMatchObject({ ok: true, problems: [] });
    const missing = policyValidate(path.join(tmp, 'nope'));
    expect(missing).toMatchObject({ code: 2, stderr: expect.stringMatching(/does not exist/) });
  });
});

describe('provisioner policy diff', () => {
  it('lists exactly the identities that gain and lose access in a crafted change', () => {
    // Release engineers gain Copilot; leadership loses its chat channel.
    const dir = variant('crafted', {
      'roles.yaml': [
        ['    entitlements: [code:release-authors]', '    entitlements: [code:release-authors, code:copilot]'],
        ['    entitlements: [chat:leadership, crm:reports-readers]', '    entitlements: [crm:reports-readers]'],
      ],
    });
    const r = policyDiff(EXAMPLE, dir, { identities: IDENTITIES, json: true, now: NOW });
    expect(r.stderr).toBe('');
    const diff = JSON.parse(r.stdout) as PolicyDiff;
    const gainers = identities.filter((i) => i.department === 'Engineering' && i.title === 'Release Engineer').map((i) => i.employeeId);
    const losers = identities.filter((i) => i.employmentType === 'employee' && Number(i.extensions?.level ?? 0) >= 7).map((i) => i.employeeId);
    expect(gainers.length).toBeGreaterThan(0);
    expect(losers.length).toBeGreaterThan(0);
    expect(diff.identities).toBe(500);
    expect(diff.changes.filter((c) => c.gains.length > 0).map((c) => c.employeeId)).toEqual(gainers);
    expect(diff.changes.filter((c) => c.loses.length > 0).map((c) => c.employeeId)).toEqual(losers);
    expect(diff.changes.every((c) => c.gains.every((g) => g === 'code:copilot') && c.loses.every((l) => l === 'chat:leadership'))).toBe(true);
    expect(diff.byEntitlement).toEqual([
      { entitlement: 'chat:leadership', gain: 0, lose: losers.length },
      { entitlement: 'code:copilot', gain: gainers.length, lose: 0 },
    ]);

    const table = policyDiff(EXAMPLE, dir, { identities: IDENTITIES, now: NOW }).stdout;
    expect(table).toMatch(new RegExp(`over 500 identities: ${gainers.length + losers.length} change \\(${gainers.length} gain, ${losers.length} lose access\\)`));
    expect(table).toMatch(new RegExp(`${gainers[0]}\\s+\\+code:copilot`));
    expect(table).toMatch(new RegExp(`${losers[0]}\\s+-chat:leadership`));
  });

  it('shows no change between a policy and itself, and refuses an invalid policy', () => {
    expect(policyDiff(EXAMPLE, EXAMPLE, { identities: IDENTITIES, now: NOW }).stdout).toMatch(/: 0 change/);
    const broken = variant('broken', { 'roles.yaml': [['inherits: [employee]', 'inherits: [employe]']] });
    const r = policyDiff(EXAMPLE, broken, { identities: IDENTITIES, now: NOW });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unknown role "employe" \(did you mean "employee"\?\)/);
  });
});

describe('provisioner policy explain', () => {
  const senior = identities.find((i) => i.title === 'Senior Software Engineer' && i.employmentType === 'employee' && i.status === 'active')!;

  it('names the rule and the chain of roles behind an entitlement', () => {
    const r = policyExplain(EXAMPLE, { identity: IDENTITIES, employee: senior.employeeId, entitlement: 'code:developers', now: NOW });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('code:developers');
    expect(r.stdout).toContain('birthright rule engineers → role engineer');
    expect(r.stdout).toContain('birthright rule senior-engineers → role senior-engineer → engineer');
  });

  it('says which approvals a new entitlement needs, and why a person would not have one', () => {
    const all = policyExplain(EXAMPLE, { identity: IDENTITIES, employee: senior.employeeId, now: NOW }).stdout;
    expect(all).toMatch(/code:maintainers {2}\[needs approval: manager-then-owner\]/);
    const not = policyExplain(EXAMPLE, { identity: IDENTITIES, employee: senior.employeeId, entitlement: 'refund-approvers', now: NOW }).stdout;
    expect(not).toContain('crm:refund-approvers  [not-desired]');
    expect(not).toContain('rule controllers would bring it: did not match (condition false');
  });

  it('explains a grant from a grants file, from a single-identity JSON file', () => {
    const one = path.join(tmp, 'one.json');
    writeFileSync(one, JSON.stringify({ ...senior }));
    const grants = path.join(tmp, 'grants.jsonl');
    writeFileSync(grants, `${JSON.stringify({ id: 'REQ-7', employeeId: senior.employeeId, entitlement: 'crm:reports-readers', grantedAt: '2026-01-02T00:00:00Z' })}\n`);
    const r = policyExplain(EXAMPLE, { identity: one, grants, entitlement: 'crm:reports-readers', now: NOW });
    expect(r.stdout).toMatch(/crm:reports-readers(\s+\[withheld\])?\n {2}grant REQ-7/);
  });

  it('validate accepts whenMissing: hold; explain says when such an attribute is missing', () => {
    const dir = variant('when-missing', { 'attributes.yaml': [['{ name: department, type: string }', '{ name: department, type: string, whenMissing: hold }']] });
    expect(policyValidate(dir).code).toBe(0);
    const one = path.join(tmp, 'no-department.json');
    writeFileSync(one, JSON.stringify({ ...senior, department: undefined }));
    const r = policyExplain(dir, { identity: one, now: NOW });
    expect(r.stdout).toContain('attribute department is missing (whenMissing: hold): a change is held, no access is removed until HR sends it');
    expect(policyExplain(dir, { identity: IDENTITIES, employee: senior.employeeId, now: NOW }).stdout).not.toContain('whenMissing');
  });

  it('asks for --employee when the file holds several identities', () => {
    expect(policyExplain(EXAMPLE, { identity: IDENTITIES, now: NOW })).toMatchObject({ code: 2, stderr: expect.stringMatching(/--employee/) });
    expect(policyExplain(EXAMPLE, { identity: IDENTITIES, employee: 'E99999', now: NOW })).toMatchObject({ code: 2, stderr: expect.stringMatching(/no identity E99999/) });
  });
});

describe('registerPolicyCommands', () => {
  it('wires validate, diff, explain, apply and rollout into the program', async () => {
    const out: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    const program = new Command().exitOverride();
    registerPolicyCommands(program);
    await program.parseAsync(['node', 'provisioner', 'policy', 'validate', EXAMPLE]);
    expect(out.join('')).toMatch(/valid, policy sha256:/);
    expect(process.exitCode ?? 0).toBe(0);
    expect(program.commands.find((c) => c.name() === 'policy')!.commands.map((c) => c.name())).toEqual(['validate', 'diff', 'explain', 'apply', 'rollout']);
  });
});

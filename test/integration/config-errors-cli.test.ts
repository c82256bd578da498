// The real `provisioner` command (dist/cli/main.js) on a configuration, policy-folder or key-file
// problem: one line on stderr saying what to fix (a policy's problems may follow), no stack trace,
// exit status 2, before it contacts any server.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../schemas/config.js';
import { ensureTargetsBuilt } from '../helpers/scim-app.js';

const dir = mkdtempSync(path.join(tmpdir(), 'config-errors-'));
beforeAll(() => ensureTargetsBuilt(), 300_000);

function provisioner(env: Record<string, string>, ...args: string[]): { status: number | null; stderr: string } {
  const run = spawnSync(process.execPath, [path.join(projectRoot, 'dist', 'cli', 'main.js'), ...args], {
    env: { PATH: process.env.PATH ?? '', PROVISIONER_DATA: path.join(dir, 'data'), ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: run.status, stderr: run.stderr };
}

describe('provisioner worker, misconfigured', () => {
  const cases: Array<[string, () => Record<string, string>, RegExp]> = [
    ['a config file that is not YAML', () => (writeFileSync(path.join(dir, 'bad.yaml'), 'kafka:\n  partitions: [1\n'), { PROVISIONER_CONFIG: path.join(dir, 'bad.yaml') }), /is not valid YAML .*; correct the file/],
    ['a bad value', () => ({ KAFKA_PARTITIONS: 'many' }), /at kafka\.partitions \(set by KAFKA_PARTITIONS\); correct that setting/],
    ['a missing policy folder', () => ({ PROVISIONER_POLICY: path.join(dir, 'none') }), /policy directory .* does not exist; set PROVISIONER_POLICY/],
    ['a policy with problems', () => {
      mkdirSync(path.join(dir, 'policy'), { recursive: true });
      writeFileSync(path.join(dir, 'policy', 'roles.yaml'), 'roles:\n  - id: x\n    bogus: 1\n');
      return { PROVISIONER_POLICY: path.join(dir, 'policy') };
    }, /has 1 problem\(s\); correct the files as listed below[^\n]*\n {2}roles\.yaml:3: roles\[0\]\.bogus: unknown key "bogus"\n$/],
    ['an unreadable key file', () => (mkdirSync(path.join(dir, 'kek'), { recursive: true }), { PROVISIONER_STORE_KEK_FILE: path.join(dir, 'kek') }), /cannot read key file .* \(EISDIR\); make it readable/],
  ];
  it.each(cases)('%s: one line, no stack, exit 2', (_kind, env, expected) => {
    const { status, stderr } = provisioner(env(), 'worker');
    expect(stderr).toMatch(/^provisioner: [^\n]+; [^\n]+\n/);
    expect(stderr).toMatch(expected);
    expect(stderr).not.toMatch(/^\s+at /m);
    expect(status).toBe(2);
  });
});

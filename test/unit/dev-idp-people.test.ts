// The development IdP's people file: validated at start, one entry per employee id, passwords
// compared in constant time and never echoed in an error.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, projectRoot } from '../../schemas/config.js';
import { authenticate, loadPeople } from '../../stack/dev-idp/people.js';
import { resourceIndicator } from '../../stack/dev-idp/config.js';

const write = (text: string) => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'idp-people-')), 'people.yaml');
  writeFileSync(file, text);
  return file;
};

describe('the development IdP people file', () => {
  const people = loadPeople(path.join(projectRoot, 'examples', 'dev-idp-people.yaml'));

  it('holds the demo approver, two operators, an auditor and an admin', () => {
    const inGroup = (g: string) => people.filter((p) => p.groups.includes(g)).map((p) => p.employeeId);
    expect(inGroup('provisioner-approvers')).toContain('E1001');
    expect(inGroup('provisioner-operators').length).toBeGreaterThanOrEqual(2);
    expect(inGroup('provisioner-auditors')).toEqual(['E9003']);
    expect(inGroup('provisioner-admins')).toEqual(['E9004']);
  });

  it('signs in by employee id (any case) and password, and refuses a wrong password or an unknown id', () => {
    expect(authenticate(people, 'e1001', 'dev-ada')?.employeeId).toBe('E1001');
    expect(authenticate(people, 'E1001', 'dev-grace')).toBeUndefined();
    expect(authenticate(people, 'E4040', 'dev-ada')).toBeUndefined();
  });

  it('refuses a file that lists an employee id twice', () => {
    const person = (pw: string) => `  - { employeeId: E1, name: A, email: a@example.com, password: ${pw} }\n`;
    expect(() => loadPeople(write(`people:\n${person('one')}${person('two')}`))).toThrow(/lists E1 twice/);
  });

  it('names the invalid field and never the password', () => {
    const file = write('people:\n  - { employeeId: E1, name: A, email: not-an-address, password: s3cret-value }\n');
    expect(() => loadPeople(file)).toThrow(/is invalid: .* at people\.0\.email/);
    expect(() => loadPeople(file)).not.toThrow(/s3cret-value/);
  });
});

describe('resource indicators', () => {
  it('carries an audience that is not a URI under a URN, and a URI as itself (RFC 8707 §2)', () => {
    expect(resourceIndicator('provisioner-api')).toBe('urn:provisioner:dev-idp:audience:provisioner-api');
    expect(resourceIndicator('https://api.example.com')).toBe('https://api.example.com');
  });
});

describe("the development IdP's access token lifetime", () => {
  it('is stack.idpAccessTokenTtlSeconds, from PROVISIONER_IDP_ACCESS_TOKEN_TTL through the config, 600 s by default', () => {
    expect(loadConfig({ env: {} }).stack.idpAccessTokenTtlSeconds).toBe(600);
    expect(loadConfig({ env: { PROVISIONER_IDP_ACCESS_TOKEN_TTL: '90' } }).stack.idpAccessTokenTtlSeconds).toBe(90);
    expect(() => loadConfig({ env: { PROVISIONER_IDP_ACCESS_TOKEN_TTL: '0' } })).toThrow(ConfigError);
  });
});

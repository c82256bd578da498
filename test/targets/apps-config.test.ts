// The apps file (targets/apps-file.ts, config/apps.yaml) and the app process's options.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppsConfigError, loadAppsFile } from '../../targets/apps-file.js';
import { projectRoot } from '../../schemas/config.js';
import { parseProcessOptions } from '../../targets/process-options.js';
import { profiles } from '../../targets/profiles.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'apps-config-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const write = (yaml: string) => {
  const file = path.join(dir, 'apps.yaml');
  writeFileSync(file, yaml);
  return file;
};

describe('config/apps.yaml', () => {
  it('describes the three demo apps chat, code and crm with persistent state under .provisioner/apps', () => {
    const apps = loadAppsFile(path.join(projectRoot, 'config', 'apps.yaml'), { root: projectRoot, env: {} });
    expect(apps.map((a) => [a.name, a.port, a.url, a.scimUrl])).toEqual([
      ['chat', 8101, 'http://127.0.0.1:8101', 'http://127.0.0.1:8101/scim/v2'],
      ['code', 8102, 'http://127.0.0.1:8102', 'http://127.0.0.1:8102/scim/v2'],
      ['crm', 8103, 'http://127.0.0.1:8103', 'http://127.0.0.1:8103/api/v1/identity/scim'],
    ]);
    for (const app of apps) {
      expect(app.stateFile).toBe(path.join(projectRoot, '.provisioner', 'apps', `${app.name}.json`));
      expect(app.bearerTokens).toHaveLength(1);
      expect(app.oauth?.tokenUrl).toBe(`${app.url}/oauth/token`);
    }
  });
});

describe('loading an apps file', () => {
  it('reads secrets from the environment variables the file names', () => {
    const file = write(`
apps:
  - name: hr
    port: 9001
    bearerTokenEnv: HR_TOKEN
    adminTokenEnv: HR_ADMIN
    oauth: { clientId: prov, clientSecretEnv: HR_SECRET, tokenTtlSeconds: 120 }
    stateFile: state/hr.json
    faults: { latencyMs: 20 }
`);
    const [app] = loadAppsFile(file, { root: dir, env: { HR_TOKEN: 'token-from-env', HR_ADMIN: 'admin-from-env', HR_SECRET: 'secret-from-env' } });
    expect(app).toEqual({
      name: 'hr',
      host: '127.0.0.1',
      port: 9001,
      url: 'http://127.0.0.1:9001',
      scimUrl: 'http://127.0.0.1:9001/scim/v2',
      bearerTokens: ['token-from-env'],
      oauth: { clientId: 'prov', clientSecret: 'secret-from-env', tokenTtlSeconds: 120, tokenUrl: 'http://127.0.0.1:9001/oauth/token' },
      adminToken: 'admin-from-env',
      stateFile: path.join(dir, 'state', 'hr.json'),
      faults: { latencyMs: 20 },
      behaviour: profiles.standard,
    });
  });

  it('an app with TLS files serves https, and one without an admin token has no admin API', () => {
    const file = write('apps:\n  - { name: hr, port: 9443, bearerToken: bearer-token-1, profile: base-path, tls: { certFile: tls/hr.crt, keyFile: tls/hr.key } }\n');
    const [app] = loadAppsFile(file, { root: dir, env: {} });
    expect(app).toMatchObject({ url: 'https://127.0.0.1:9443', scimUrl: 'https://127.0.0.1:9443/api/v1/identity/scim' });
    expect(app!.tls).toEqual({ certFile: path.join(dir, 'tls', 'hr.crt'), keyFile: path.join(dir, 'tls', 'hr.key') });
    expect(app).not.toHaveProperty('adminToken');
    const options = parseProcessOptions(['--apps-file', file, '--app', 'hr'], {}, dir);
    expect(options.tls).toEqual(app!.tls);
    expect(options).not.toHaveProperty('adminToken');
    expect(() => loadAppsFile(write('apps:\n  - { name: hr, port: 9001, bearerToken: bearer-token-1, adminToken: admin-token-1, adminTokenEnv: HR_ADMIN }\n'), { root: dir })).toThrow(/adminToken or adminTokenEnv, not both/);
  });

  it('takes a behaviour profile, with single behaviours overridden, and puts SCIM under its base path', () => {
    const file = write('apps:\n  - { name: hr, port: 9001, bearerToken: bearer-token-1, adminToken: admin-token-1, profile: saas, behaviour: { etags: true } }\n');
    const [app] = loadAppsFile(file, { root: dir });
    expect(app!.behaviour).toEqual({ ...profiles.saas, etags: true });
    expect(app!.scimUrl).toBe('http://127.0.0.1:9001/api/v1/identity/scim');
    expect(() => loadAppsFile(write('apps:\n  - { name: hr, port: 9001, bearerToken: bearer-token-1, adminToken: admin-token-1, profile: lenient }\n'), { root: dir })).toThrow(/profile/);
  });

  it('a missing environment variable is an error that names it', () => {
    const file = write('apps:\n  - { name: hr, port: 9001, bearerTokenEnv: HR_TOKEN, adminToken: admin-token-1 }\n');
    expect(() => loadAppsFile(file, { root: dir, env: {} })).toThrow(/HR_TOKEN/);
  });

  it('invalid files are rejected with a message that says what to fix', () => {
    const cases: Array<[string, RegExp]> = [
      ['apps:\n  - { name: hr, port: 9001, adminToken: admin-token-1 }\n', /bearerToken, bearerTokenEnv or oauth/],
      ['apps:\n  - { name: hr, port: 9001, bearerToken: short, adminToken: admin-token-1 }\n', /at least 8/],
      ['apps:\n  - { name: HR, port: 9001, bearerToken: bearer-token-1, adminToken: admin-token-1 }\n', /lower-case/],
      ['apps:\n  - { name: a, port: 9001, bearerToken: bearer-token-1, adminToken: admin-token-1 }\n  - { name: b, port: 9001, bearerToken: bearer-token-2, adminToken: admin-token-2 }\n', /same host and port/],
      ['apps:\n  - { name: hr, port: 9001, bearerToken: bearer-token-1, adminToken: admin-token-1, faults: { errorRate: 3 } }\n', /errorRate/],
      ['apps: [\n', /not valid YAML/],
    ];
    for (const [yaml, message] of cases) {
      const file = write(yaml);
      expect(() => loadAppsFile(file, { root: dir, env: {} })).toThrow(AppsConfigError);
      expect(() => loadAppsFile(file, { root: dir, env: {} })).toThrow(message);
    }
    expect(() => loadAppsFile(path.join(dir, 'missing.yaml'), { root: dir })).toThrow(/does not exist/);
  });
});

describe('the app process options', () => {
  it('come from arguments, with secrets from SCIM_APP_* variables', () => {
    const options = parseProcessOptions(
      ['--name', 'chat', '--port', '8101', '--state-file', 'state/chat.json', '--faults', '{"failNext":2}'],
      { SCIM_APP_BEARER_TOKEN: 'bearer-token-1', SCIM_APP_ADMIN_TOKEN: 'admin-token-1', SCIM_APP_OAUTH_CLIENT_ID: 'prov', SCIM_APP_OAUTH_CLIENT_SECRET: 'client-secret-1' },
      dir,
    );
    expect(options).toEqual({
      name: 'chat',
      port: 8101,
      host: '127.0.0.1',
      bearerTokens: ['bearer-token-1'],
      oauth: { clientId: 'prov', clientSecret: 'client-secret-1', tokenTtlSeconds: 3600 },
      adminToken: 'admin-token-1',
      stateFile: path.join(dir, 'state', 'chat.json'),
      faults: { failNext: 2 },
      logLevel: 'info',
      behaviour: profiles.standard,
    });
  });

  it('can name an app of an apps file instead', () => {
    const file = write('apps:\n  - { name: hr, port: 9001, bearerToken: bearer-token-1, adminToken: admin-token-1, stateFile: hr.json }\n');
    const options = parseProcessOptions(['--apps-file', file, '--app', 'hr', '--port', '0'], {}, dir);
    expect(options).toMatchObject({ name: 'hr', port: 0, bearerTokens: ['bearer-token-1'], adminToken: 'admin-token-1', stateFile: path.join(dir, 'hr.json') });
  });

  it('take the file app\'s profile, and single behaviours from --behaviour over it', () => {
    const file = write('apps:\n  - { name: hr, port: 9001, bearerToken: bearer-token-1, adminToken: admin-token-1, profile: no-groups }\n');
    expect(parseProcessOptions(['--apps-file', file, '--app', 'hr'], {}, dir).behaviour).toEqual(profiles['no-groups']);
    expect(parseProcessOptions(['--apps-file', file, '--app', 'hr', '--behaviour', '{"etags":false}'], {}, dir).behaviour).toEqual({ ...profiles['no-groups'], etags: false });
    expect(parseProcessOptions(['--apps-file', file, '--app', 'hr', '--profile', 'base-path'], {}, dir).behaviour).toEqual(profiles['base-path']);
  });

  it('missing or malformed options are errors that name them', () => {
    expect(() => parseProcessOptions(['--name', 'chat', '--port', '8101'], {}, dir)).toThrow(/bearer token or OAuth client credentials/);
    expect(() => parseProcessOptions(['--name', 'chat', '--port', '8101', '--faults', '{nope'], { SCIM_APP_ADMIN_TOKEN: 'admin-token-1' }, dir)).toThrow(/not valid JSON/);
    expect(() => parseProcessOptions(['--name', 'chat', '--port', 'x', '--admin-token', 'admin-token-1', '--bearer-token', 'bearer-token-1'], {}, dir)).toThrow(/port/);
  });
});

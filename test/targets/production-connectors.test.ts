// The worker's connectors, built as production builds them (runtime/connectors.ts over the
// connectors file): secrets are references, read on use, so a rotated secret file is used by the
// next call without a restart.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConnectorsFile } from '../../connectors/config.js';
import { AuthError } from '../../connectors/errors.js';
import { LdapConnector } from '../../connectors/ldap/ldap-connector.js';
import { createLogger } from '../../observability/logger.js';
import type { CompiledPolicy } from '../../policy/compile.js';
import { loadPolicyDir } from '../../policy/loader.js';
import { connectorsForPolicy } from '../../runtime/connectors.js';
import { ConfigError, loadConfig, projectRoot } from '../../schemas/config.js';
import { startTestScimApp, type TestScimApp } from '../helpers/scim-app.js';

const cfg = loadConfig({ env: {} });
const logger = createLogger({ level: 'silent' });
const call = () => ({ idempotencyKey: 'rotation', correlationId: 'rotation', signal: AbortSignal.timeout(5000) });
let policy: CompiledPolicy;
let app: TestScimApp;

beforeAll(async () => {
  const loaded = loadPolicyDir(path.join(projectRoot, 'examples', 'policy'));
  if (!loaded.ok) throw new Error('the example policy does not load');
  policy = loaded.policy;
  app = await startTestScimApp({ name: 'chat', bearerTokens: ['current-chat-token-81Zq'] });
});

afterAll(async () => {
  await app?.close();
});

describe('the connectors the worker builds', () => {
  it('read a rotated token file on the next call, without a restart', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'connectors-'));
    const file = path.join(dir, 'connectors.yaml');
    writeFileSync(file, `connectors:\n  - type: scim\n    app: chat\n    baseUrl: ${app.scimUrl}\n    auth: { kind: bearer, token: { file: secrets/chat.token } }\n`);
    const tokenFile = path.join(dir, 'secrets', 'chat.token');
    mkdirSync(path.dirname(tokenFile));
    writeFileSync(tokenFile, 'stale-chat-token-77Pp\n');

    const { connectors, missing } = connectorsForPolicy(cfg, policy, loadConnectorsFile(file), logger, { root: dir });
    expect(missing.map((m) => m.split(' ')[0])).toEqual(['code', 'crm']);
    const chat = connectors.get('chat')!;
    await expect(chat.getAccount({ employeeId: 'E-ROT-1' }, call())).rejects.toBeInstanceOf(AuthError);

    writeFileSync(tokenFile, 'current-chat-token-81Zq\n');
    expect(await chat.getAccount({ employeeId: 'E-ROT-1' }, call())).toBeUndefined();
    for (const c of connectors.values()) await c.close?.();
  });

  it('the shipped connectors file names every SCIM application of the example policy, its secrets by reference', () => {
    const configs = loadConnectorsFile(path.join(projectRoot, 'config', 'connectors.yaml'));
    const { connectors, missing } = connectorsForPolicy(cfg, policy, configs, logger);
    expect(missing).toEqual([]);
    expect(connectors.get('directory')).toBeInstanceOf(LdapConnector);
    for (const c of configs) expect(c.type === 'scim' && c.auth.kind === 'bearer' && 'file' in c.auth.token).toBe(true);
  });

  it('a connectors file with an inline secret is refused, saying what to fix', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'connectors-'));
    const file = path.join(dir, 'connectors.yaml');
    writeFileSync(file, `connectors:\n  - type: scim\n    app: chat\n    baseUrl: http://127.0.0.1:1/scim/v2\n    auth: { kind: bearer, token: dev-chat-scim-token }\n`);
    expect(() => loadConnectorsFile(file)).toThrow(ConfigError);
    // One line saying what to fix, the invalid setting in the details after it.
    const error = (() => {
      try {
        loadConnectorsFile(file);
      } catch (err) {
        return err as ConfigError;
      }
      throw new Error('the inline secret was accepted');
    })();
    expect(error.message).toMatch(/^invalid connectors file .*; correct it as listed below/);
    expect(error.details.join('\n')).toMatch(/auth\.token/);
  });
});

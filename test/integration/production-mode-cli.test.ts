// The real `provisioner worker` and `provisioner api serve` (dist/cli/main.js) in production mode on
// the development defaults: each prints one refusal line per problem and exits 2 before it opens a
// connection to any server (every server address points at a listener here that counts connections).
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../schemas/config.js';
import { ensureDistBuilt, ensureTargetsBuilt } from '../helpers/scim-app.js';

let connections = 0;
const listener = net.createServer((socket) => {
  connections++;
  socket.destroy();
});
let port = 0;

beforeAll(async () => {
  ensureTargetsBuilt();
  ensureDistBuilt(path.join(projectRoot, 'dist', 'cli', 'main.js'), ['cli', 'api', 'runtime', 'schemas'], { recursive: true });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  port = (listener.address() as net.AddressInfo).port;
}, 300_000);
afterAll(() => new Promise<void>((resolve) => listener.close(() => resolve())));

function provisioner(env: Record<string, string>, ...args: string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(projectRoot, 'dist', 'cli', 'main.js'), ...args], {
      // The default data folder: the development tokens `apps up` writes are under it.
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stderr });
    });
  });
}

describe('provisioner worker in production mode', () => {
  it('on the development defaults, refuses with one line per problem and exits 2 before connecting anywhere', async () => {
    const { status, stderr } = await provisioner(
      {
        PROVISIONER_MODE: 'production',
        KAFKA_BROKERS: `127.0.0.1:${port}`,
        TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
        DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/provisioner`,
        LDAP_URL: `ldap://127.0.0.1:${port}`,
      },
      'worker',
    );
    const lines = stderr.trimEnd().split('\n');
    expect(lines[0]).toBe('provisioner: worker: refusing to start in production mode (PROVISIONER_MODE=production), 8 problems; fix each line below, or run in development mode');
    const data = path.join(projectRoot, '.provisioner');
    expect(lines.slice(1)).toEqual([
      '  ldap: no bind password in production mode; set LDAP_BIND_PASSWORD_FILE (ldap.bindPasswordFile) to a file holding it, or LDAP_BIND_PASSWORD',
      ...['chat', 'code', 'crm'].map(
        (app) => `  scim ${app}: the bearer token is read from ${path.join(data, 'secrets', `${app}.scim-token`)}, a development secret the local stack wrote; name the real secret's file in auth.token of ${path.join(projectRoot, 'config', 'connectors.yaml')}`,
      ),
      `  keys: PROVISIONER_CODEC_KEYS is not set, so a key would be generated into ${path.join(data, 'keys', 'codec.key')} (or an earlier generated one used); set PROVISIONER_CODEC_KEYS_FILE (or PROVISIONER_CODEC_KEYS) to the production keys`,
      `  keys: PROVISIONER_AUDIT_SIGNING_KEY is not set, so a key would be generated into ${path.join(data, 'keys', 'audit-signing.key')} (or an earlier generated one used); set PROVISIONER_AUDIT_SIGNING_KEY_FILE (or PROVISIONER_AUDIT_SIGNING_KEY) to the production keys`,
      `  keys: PROVISIONER_STORE_KEK is not set, so a key would be generated into ${path.join(data, 'keys', 'store-kek.key')} (or an earlier generated one used); set PROVISIONER_STORE_KEK_FILE (or PROVISIONER_STORE_KEK) to the production keys`,
      `  audit: checkpoints are written to ${path.join(data, 'audit', 'checkpoints.jsonl')}, inside the data folder ${data}, which does not survive this host; point PROVISIONER_AUDIT_CHECKPOINTS (audit.checkpointsFile) at another host's mount, or set PROVISIONER_AUDIT_CHECKPOINT_TO=kafka (audit.checkpointTo)`,
    ]);
    expect(status).toBe(2);
    expect(connections).toBe(0);
  });
});

describe('provisioner api serve in production mode', () => {
  const env = () => ({
    PROVISIONER_MODE: 'production',
    PROVISIONER_CODEC_KEYS: `k1:${Buffer.alloc(32, 9).toString('base64')}`,
    TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
    DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/provisioner`,
  });

  it('without an identity provider, refuses with the one line that says what to set, before connecting anywhere', async () => {
    const before = connections;
    const { status, stderr } = await provisioner(env(), 'api', 'serve');
    expect(stderr.trimEnd().split('\n')).toEqual([
      'provisioner: api: refusing to start in production mode (PROVISIONER_MODE=production), 1 problem; fix each line below, or run in development mode',
      '  api: no identity provider is configured, and production mode accepts only its tokens; set PROVISIONER_OIDC_ISSUER and PROVISIONER_OIDC_AUDIENCE (api.oidc)',
    ]);
    expect(status).toBe(2);
    expect(connections).toBe(before);
  });

  it('with an HS256 secret beside the identity provider, refuses it: production accepts no development token', async () => {
    const { status, stderr } = await provisioner(
      { ...env(), PROVISIONER_OIDC_ISSUER: 'https://login.example.com', PROVISIONER_OIDC_AUDIENCE: 'provisioner-api', PROVISIONER_OIDC_ROLE_MAP: '{"ops":["operator"]}', PROVISIONER_API_JWT_SECRET: 'x'.repeat(40) },
      'api', 'serve',
    );
    expect(stderr.trimEnd().split('\n').slice(1)).toEqual([
      '  api: PROVISIONER_API_JWT_SECRET (api.jwt.secret) configures an HS256 token secret, and production mode accepts no development token; remove it (people sign in with the identity provider)',
    ]);
    expect(status).toBe(2);
  });
});

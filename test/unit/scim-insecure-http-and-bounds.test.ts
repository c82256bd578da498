// SCIM apps: http:// off this machine only for an app marked insecureHttp (warned at worker start,
// without its token), and answers bounded in size while they stream in, from a real local HTTP
// server that would send far more than the bound.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callContext } from '../../connectors/conformance/harness.js';
import { createConnector, parseConnectorConfig } from '../../connectors/config.js';
import { InvalidRequestError, AuthError } from '../../connectors/errors.js';
import { createLogger } from '../../observability/logger.js';
import type { CompiledPolicy } from '../../policy/compile.js';
import { connectorsForPolicy } from '../../runtime/connectors.js';
import { loadConfig } from '../../schemas/config.js';

const bearer = { kind: 'bearer', token: { env: 'CRM_TOKEN' } };
const scim = (extra: Record<string, unknown>) => ({ type: 'scim', app: 'crm', auth: bearer, ...extra });

describe('insecureHttp', () => {
  it('refuses http:// to a host off this machine, naming insecureHttp as the way out', () => {
    expect(() => parseConnectorConfig(scim({ baseUrl: 'http://crm.internal/scim/v2' }))).toThrow(
      /http:\/\/ is accepted only for loopback hosts \(127\.0\.0\.0\/8, ::1, localhost\), not crm\.internal: .*or mark the app insecureHttp: true[\s\S]*at baseUrl/,
    );
  });

  it('accepts it, base and token URL, for an app marked insecureHttp', () => {
    const config = parseConnectorConfig({
      type: 'scim', app: 'crm', baseUrl: 'http://crm.internal/scim/v2', insecureHttp: true,
      auth: { kind: 'oauth2', tokenUrl: 'http://crm.internal/oauth/token', clientId: 'p', clientSecret: { env: 'S' } },
    });
    expect(config).toMatchObject({ insecureHttp: true, baseUrl: 'http://crm.internal/scim/v2' });
  });

  it('a token URL in clear is refused too without it', () => {
    expect(() => parseConnectorConfig({
      type: 'scim', app: 'crm', baseUrl: 'https://crm.example.com/scim/v2',
      auth: { kind: 'oauth2', tokenUrl: 'http://crm.example.com/oauth/token', clientId: 'p', clientSecret: { env: 'S' } },
    })).toThrow(/not crm\.example\.com[\s\S]*at auth\.tokenUrl/);
  });

  it('everything else stays as strict: no credentials in the URL even with insecureHttp', () => {
    expect(() => parseConnectorConfig(scim({ baseUrl: 'http://u:p@crm.internal/scim/v2', insecureHttp: true }))).toThrow(/must not carry credentials/);
  });

  it('the worker warns once per such app when it builds its connectors, without the token', () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = createLogger({ level: 'info', destination: new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>), done()) }) });
    // connectorsForPolicy reads only the policy's applications.
    const policy = { applications: new Map([['crm', { connector: 'scim', config: 'crm' }]]) } as unknown as CompiledPolicy;
    const config = parseConnectorConfig(scim({ baseUrl: 'http://crm.internal/scim/v2', insecureHttp: true }));
    connectorsForPolicy(loadConfig({ env: {} }), policy, [config], logger, { env: { CRM_TOKEN: 'the-crm-token-value' } });
    const warnings = lines.filter((l) => l.level === 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toBe('scim crm: insecureHttp: its bearer token and every person\'s data travel unencrypted to http://crm.internal/scim/v2; use https:// as soon as the app offers it');
    expect(JSON.stringify(lines)).not.toContain('the-crm-token-value');
  });
});

describe('maxResponseBytes', () => {
  let server: http.Server;
  let url = '';
  /** Bytes the server managed to write before the client stopped reading. */
  let written = 0;
  const HUGE = 256 * 1024 * 1024;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const chunk = Buffer.alloc(64 * 1024, 'x');
      res.writeHead(200, { 'content-type': req.url?.startsWith('/oauth') ? 'application/json' : 'application/scim+json' });
      written = 0;
      const pump = () => {
        while (written < HUGE) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('close', () => undefined);
      pump();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('an answer over the bound is one error naming the app and the bound, read no further than the bound', async () => {
    const connector = createConnector(parseConnectorConfig(scim({ baseUrl: `${url}/scim/v2`, maxResponseBytes: 1024 * 1024 })), { env: { CRM_TOKEN: 'token-1' } });
    const refused = await connector.getAccount({ employeeId: 'E-1' }, callContext()).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(InvalidRequestError);
    expect((refused as Error).message).toMatch(/^crm: .*: the answer is larger than maxResponseBytes \(1048576 bytes\); raise maxResponseBytes in the app's connector config/);
    // The server could push what the socket buffers took, nowhere near the whole body.
    expect(written).toBeLessThan(HUGE / 4);
  });

  it('the OAuth token endpoint is bounded the same', async () => {
    const connector = createConnector(parseConnectorConfig({
      type: 'scim', app: 'crm', baseUrl: `${url}/scim/v2`, maxResponseBytes: 4096,
      auth: { kind: 'oauth2', tokenUrl: `${url}/oauth/token`, clientId: 'p', clientSecret: { env: 'S' } },
    }), { env: { S: 'secret-value' } });
    const refused = await connector.getAccount({ employeeId: 'E-1' }, callContext()).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AuthError);
    expect((refused as Error).message).toBe(`crm: OAuth token request to ${url}/oauth/token: the answer is larger than maxResponseBytes (4096 bytes)`);
  });
});

// SASL/OAUTHBEARER's token provider against a small real token endpoint (node:http on loopback; the
// OAuth server, not Kafka): the client-credentials grant as RFC 6749 §4.4 asks it, one request for
// a token kept until shortly before it expires, and a refusal as one `kafka:` line without the secret.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { oauthBearerProvider, type OAuthBearerSettings } from '../../kafka/oauth-bearer.js';

type Seen = { authorization: string | undefined; contentType: string | undefined; body: URLSearchParams };
let server: Server;
let tokenUrl: string;
let seen: Seen[] = [];
/** What the endpoint answers next: status and JSON body. */
let answer: (request: Seen) => { status: number; body: unknown };

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => resolve(text));
  });

beforeAll(async () => {
  server = createServer((req, res) => {
    void readBody(req).then((text) => {
      const request = { authorization: req.headers.authorization, contentType: req.headers['content-type'], body: new URLSearchParams(text) };
      seen.push(request);
      const { status, body } = answer(request);
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  tokenUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}/oauth2/token`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const dir = mkdtempSync(path.join(tmpdir(), 'provisioner-oauth-'));
let secretFile: string;
let settings: OAuthBearerSettings;
let tokens = 0;

beforeEach(() => {
  seen = [];
  tokens = 0;
  secretFile = path.join(dir, `secret-${Math.random().toString(36).slice(2)}`);
  writeFileSync(secretFile, 's3cret: with spaces\n');
  settings = { tokenUrl, clientId: 'provisioner-svc', clientSecretFile: secretFile, scope: 'kafka.produce kafka.consume' };
  answer = () => ({ status: 200, body: { access_token: `token-${++tokens}`, token_type: 'Bearer', expires_in: 300 } });
});

describe('the OAUTHBEARER token provider', () => {
  it('asks for a token with the client-credentials grant, authenticating the client with HTTP Basic', async () => {
    const provider = oauthBearerProvider(settings);
    expect(await provider()).toEqual({ value: 'token-1' });
    expect(seen).toHaveLength(1);
    const [request] = seen;
    expect(request!.contentType).toBe('application/x-www-form-urlencoded');
    expect(request!.body.get('grant_type')).toBe('client_credentials');
    expect(request!.body.get('scope')).toBe('kafka.produce kafka.consume');
    // RFC 6749 §2.3.1: id and secret form-encoded, then base64.
    const decoded = Buffer.from(request!.authorization!.replace(/^Basic /, ''), 'base64').toString();
    expect(decoded).toBe('provisioner-svc:s3cret%3A+with+spaces');
  });

  it('keeps the token until shortly before it expires, then asks again with the secret file as it is then', async () => {
    let now = 1_000_000;
    const provider = oauthBearerProvider(settings, { now: () => now });
    expect(await provider()).toEqual({ value: 'token-1' });
    now += 200_000;
    expect(await provider()).toEqual({ value: 'token-1' });
    expect(seen).toHaveLength(1);
    writeFileSync(secretFile, 'rotated\n');
    now += 50_000; // 250 s of 300: inside the last minute
    expect(await provider()).toEqual({ value: 'token-2' });
    expect(Buffer.from(seen[1]!.authorization!.replace(/^Basic /, ''), 'base64').toString()).toBe('provisioner-svc:rotated');
  });

  it('serves connections that ask at once with one request', async () => {
    const provider = oauthBearerProvider(settings);
    const values = await Promise.all([provider(), provider(), provider()]);
    expect(values.map((v) => v.value)).toEqual(['token-1', 'token-1', 'token-1']);
    expect(seen).toHaveLength(1);
  });

  it('turns a refusal into one kafka: line naming the endpoint and the client, without the secret', async () => {
    answer = () => ({ status: 401, body: { error: 'invalid_client', error_description: 'bad secret s3cret' } });
    const failure = await oauthBearerProvider(settings)().catch((err: Error) => err);
    expect(failure).toBeInstanceOf(Error);
    const message = (failure as Error).message;
    expect(message).toBe(`kafka: the OAuth token endpoint ${tokenUrl} refused client "provisioner-svc" (HTTP 401, invalid_client); check kafka.sasl.oauthbearer.tokenUrl, clientId and clientSecretFile`);
    expect(message).not.toContain('s3cret');
  });

  it('refuses an answer that is not a bearer token (the response is validated)', async () => {
    answer = () => ({ status: 200, body: { token_type: 'mac', expires_in: 60 } });
    await expect(oauthBearerProvider(settings)()).rejects.toThrow(/^kafka: the OAuth token endpoint .* answered client "provisioner-svc" without a usable token \(access_token: .*token_type: expected token_type "Bearer"\)/);
  });

  it('says so when the endpoint does not answer or the secret file is missing', async () => {
    const closed = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    const url = `http://127.0.0.1:${closed}/token`;
    await expect(oauthBearerProvider({ ...settings, tokenUrl: url })()).rejects.toThrow(`kafka: the OAuth token endpoint ${url} did not answer for client "provisioner-svc" (ECONNREFUSED)`);
    await expect(oauthBearerProvider({ ...settings, clientSecretFile: path.join(dir, 'none') })()).rejects.toThrow(/^kafka: the OAuth client secret file .*none cannot be read \(ENOENT\); check kafka\.sasl\.oauthbearer\.clientSecretFile/);
    expect(seen).toHaveLength(0);
  });
});

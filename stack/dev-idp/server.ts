// The development OpenID provider (oidc-provider 8, a certified implementation) as a process: the
// organisation's identity provider for the local stack (`stack up` runs it as the server `idp`)
// and for the tests (test/helpers/idp.ts). Development only: people and passwords come from a
// YAML file, keys are generated into <dataDir>/idp, and state (sessions, refresh tokens) lives in
// memory, so a restart signs everyone out.
//
//   node dist/stack/dev-idp/server.js --port 9470 --data-dir .provisioner --people examples/dev-idp-people.yaml
//     [--access-token-ttl <seconds>] [--audience provisioner-api] [--temporal-ui-redirect <url>]...
//
// --access-token-ttl sets the access token lifetime (`stack up` passes stack.idpAccessTokenTtlSeconds, PROVISIONER_IDP_ACCESS_TOKEN_TTL).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import Provider from 'oidc-provider';
import { createLogger } from '../../observability/logger.js';
import { ensureDevSecret } from '../dev-secrets.js';
import { DEV_IDP_ACCESS_TOKEN_TTL_SECONDS, DEV_IDP_AUDIENCE, devIdpIssuerAt } from '../../schemas/dev-idp.js';
import { devIdpConfiguration } from './config.js';
import { handleInteraction } from './interactions.js';
import { cookieKey, ensureSigningKeys, temporalUiClientSecretFile } from './keys.js';
import { loadPeople } from './people.js';


function options() {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      'data-dir': { type: 'string' },
      people: { type: 'string' },
      'access-token-ttl': { type: 'string' },
      audience: { type: 'string', default: DEV_IDP_AUDIENCE },
      'temporal-ui-redirect': { type: 'string', multiple: true },
    },
    strict: true,
  });
  const need = (name: 'port' | 'data-dir' | 'people') => {
    const v = values[name];
    if (!v) throw new Error(`idp: --${name} is required`);
    return v;
  };
  const port = Number(need('port'));
  const ttlText = values['access-token-ttl'] ?? String(DEV_IDP_ACCESS_TOKEN_TTL_SECONDS);
  const ttl = Number(ttlText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`idp: --port ${values.port} is not a port number`);
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 86_400) throw new Error(`idp: the access token lifetime ${ttlText} is not a whole number of seconds between 1 and 86400`);
  return {
    port,
    dataDir: need('data-dir'),
    peopleFile: need('people'),
    accessTokenTtlSeconds: ttl,
    audience: values.audience!,
    temporalUiRedirects: values['temporal-ui-redirect'] ?? ['http://127.0.0.1:8233/auth/sso/callback'],
  };
}

async function main(): Promise<void> {
  const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'info', name: 'provisioner-dev-idp' });
  const opts = options();
  const people = loadPeople(opts.peopleFile);
  const keys = ensureSigningKeys(opts.dataDir);
  // Listen first, so --port 0 (a free port, for tests) gives the issuer its real port.
  let serve: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => void res.writeHead(503).end();
  const server = createServer((req, res) => serve(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  const issuer = devIdpIssuerAt(port);
  const provider = new Provider(
    issuer,
    devIdpConfiguration({
      people,
      jwks: keys.jwks,
      cookieKey: cookieKey(opts.dataDir),
      accessTokenTtlSeconds: opts.accessTokenTtlSeconds,
      defaultAudience: opts.audience,
      temporalUi: { secret: ensureDevSecret(temporalUiClientSecretFile(opts.dataDir)), redirectUris: opts.temporalUiRedirects },
    }),
  );
  // What went wrong on a request, without the request (it may hold a code or a password).
  for (const event of ['server_error', 'grant.error', 'device_authorization.error', 'end_session.error']) {
    provider.on(event, (_ctx: unknown, err: Error & { error_description?: string }) => logger.warn({ event, error: err.message, description: err.error_description }, 'idp request failed'));
  }
  provider.on('grant.success', (ctx: { oidc?: { params?: { grant_type?: string }; client?: { clientId?: string } } }) =>
    logger.info({ grantType: ctx.oidc?.params?.grant_type, clientId: ctx.oidc?.client?.clientId }, 'tokens issued'),
  );
  const callback = provider.callback();
  serve = (req, res) => {
    handleInteraction(provider, people, req, res, (e) => logger.info(e, e.msg))
      .then((handled) => {
        if (!handled) callback(req, res);
      })
      .catch((err: Error) => {
        logger.error({ error: err.message }, 'interaction failed');
        if (!res.headersSent) res.writeHead(500).end();
      });
  };
  logger.info(
    { issuer, port, people: people.length, keys: keys.file, keysCreated: keys.created, accessTokenTtlSeconds: opts.accessTokenTtlSeconds, audience: opts.audience },
    `development identity provider (never for production) listening; issuer ${issuer}`,
  );
  const stop = (signal: string) => {
    logger.info({ signal }, 'stopping');
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((err: Error) => {
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
});

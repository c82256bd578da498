// `provisioner api [serve]`: the HTTP API process (health, readiness, the Temporal UI's codec
// endpoint, identity state, the fence, approvals and access requests), with a SIGTERM that drains
// requests in flight; and `provisioner api token`: a development token signed with the local secret
// (the deciding commands — approve, reject, fence release/reject — call the API with it), which
// only development mode accepts: in production, people's tokens come from the identity provider.
import type { Command } from 'commander';
import { Client } from '@temporalio/client';
import { ApiAuthConfigError, apiRoles, devSecretFile, ensureDevSecret, loadJwtSettings, mintToken, ttlSchema } from '../../api/auth.js';
import { corsOrigins, startApi } from '../../api/server.js';
import { apiVerifier } from '../../api/verifier.js';
import { dataConverter } from '../../codec/data-converter.js';
import { createLogger } from '../../observability/logger.js';
import { refuseUnfitForProduction } from '../../runtime/production-checks.js';
import { loadConfig } from '../../schemas/config.js';
import { employeeIdSchema } from '../../schemas/events.js';
import { openStore, type Store } from '../../store/index.js';
import { connectTemporal } from '../../clients/temporal-connection.js';

const noSecret = (dataDir: string) =>
  new ApiAuthConfigError(
    `no API JWT secret is configured; set PROVISIONER_API_JWT_SECRET_FILE (api.jwt.secretFile) or PROVISIONER_API_JWT_SECRET, ` +
      `or create a local development secret in ${devSecretFile(dataDir)} with \`provisioner api token --dev ...\``,
  );

async function serve(options: { store: boolean }): Promise<void> {
  const cfg = loadConfig();
  refuseUnfitForProduction(cfg, 'api');
  const logger = createLogger({ level: cfg.logLevel, name: 'provisioner-api' });
  const verifier = apiVerifier(cfg, logger);
  const connection = await connectTemporal(cfg);
  const client = new Client({ connection, namespace: cfg.temporal.namespace, dataConverter: dataConverter(cfg.dataDir, cfg.mode) });
  let store: Store | undefined;
  try {
    if (options.store) store = await openStore(cfg, { logger });
  } catch (err) {
    await connection.close();
    throw err;
  }
  const api = await startApi({ cfg, logger, client, verify: verifier.verify, corsOrigins: corsOrigins(cfg), ...(store ? { store } : {}) });
  logger.info(
    { health: `${api.url}/health`, ready: `${api.url}/ready`, uiCodecEndpoint: `${api.url}/codec` },
    `api running; start the Temporal dev server with --ui-codec-endpoint ${api.url}/codec to see decoded payloads`,
  );
  let draining = false;
  const drain = async (signal: string) => {
    if (draining) return;
    draining = true;
    logger.info({ signal }, 'draining: no new requests are taken, requests in flight finish');
    await api.close().catch((err: Error) => logger.error({ err }, 'api close failed'));
    await store?.close().catch((err: Error) => logger.error({ err }, 'store close failed'));
    await connection.close().catch(() => undefined);
    await verifier.close().catch(() => undefined);
    logger.info('drained; exiting');
    process.exit(0);
  };
  process.once('SIGTERM', () => void drain('SIGTERM'));
  process.once('SIGINT', () => void drain('SIGINT'));
}

async function token(options: { sub: string; roles: string; ttl: string; dev?: boolean }): Promise<void> {
  const cfg = loadConfig();
  const sub = employeeIdSchema.safeParse(options.sub);
  if (!sub.success) throw new ApiAuthConfigError(`--sub: ${sub.error.issues[0]?.message}`);
  const roles = options.roles.split(',').map((r) => r.trim()).filter(Boolean);
  const unknown = roles.filter((r) => !(apiRoles as readonly string[]).includes(r));
  if (roles.length === 0 || unknown.length > 0) throw new ApiAuthConfigError(`--roles: expected a comma-separated list of ${apiRoles.join(', ')}${unknown.length ? ` (not: ${unknown.join(', ')})` : ''}`);
  const ttl = ttlSchema.safeParse(options.ttl);
  if (!ttl.success) throw new ApiAuthConfigError(`--ttl: ${ttl.error.issues[0]?.message}`);
  if (cfg.mode === 'production') throw new ApiAuthConfigError("api token: production mode accepts only the identity provider's tokens; sign in with `provisioner login` (or set PROVISIONER_API_TOKEN to a token from the identity provider)");
  if (options.dev && !loadJwtSettings(cfg)) {
    const file = ensureDevSecret(cfg.dataDir);
    process.stderr.write(`created a development API JWT secret in ${file} (mode 0600)\n`);
  }
  const jwt = loadJwtSettings(cfg);
  if (!jwt) throw noSecret(cfg.dataDir);
  process.stdout.write(`${await mintToken(jwt, { sub: sub.data, roles: roles as (typeof apiRoles)[number][], ttl: ttl.data })}\n`);
}

export function registerApiCommands(program: Command): void {
  const api = program
    .command('api')
    .description('the HTTP API: codec endpoint for the Temporal UI, identity state, the fence, approvals and requests (port http.apiPort: PROVISIONER_API_PORT, default 9467)');
  api
    .command('serve', { isDefault: true })
    .description('run the API process (bound to 127.0.0.1; SIGTERM drains requests in flight)')
    .option('--no-store', 'run without the PostgreSQL store (no recent outcomes, no approvals to list or decide, refusals logged but not audited)')
    .action((opts: { store: boolean }) => serve(opts));
  api
    .command('token')
    .description('mint a development bearer token signed with the local API secret (prints it on stdout; e.g. export PROVISIONER_API_TOKEN=$(provisioner api token --dev --sub E1001 --roles approver))')
    .requiredOption('--sub <employeeId>', "the caller's employee id")
    .requiredOption('--roles <roles>', `comma-separated roles: ${apiRoles.join(', ')}`)
    .option('--ttl <duration>', 'lifetime, e.g. 15m, 1h, 7d', '1h')
    .option('--dev', `create a local development secret in <dataDir>/api-jwt-secret (mode 0600) if none is configured`)
    .action((opts: { sub: string; roles: string; ttl: string; dev?: boolean }) => token(opts));
}

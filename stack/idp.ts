// The development OpenID provider as a server of the plain local stack (`stack up` names it `idp`):
// dist/stack/dev-idp/server.js on 127.0.0.1:<stack.idpPort>, its keys in <dataDir>/idp, its people
// from stack.idpPeopleFile. The secured stack does not run it.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { projectRoot, type Config } from '../schemas/config.js';
import { devIdpIssuer } from '../schemas/dev-idp.js';
import { pidFile, readLivePid, startDetached, stopByPidFile, waitFor } from './processes.js';
import type { Reporter } from './shell.js';
import type { ServerStatus } from './server-status.js';

const NAME = 'idp';

/** The process entry, compiled: the stack runs from dist/ whether the CLI or a test calls it. */
export const devIdpServerJs = path.join(projectRoot, 'dist', 'stack', 'dev-idp', 'server.js');


/** The IdP answers discovery with its own issuer. */
export async function idpHealthy(cfg: Config): Promise<boolean> {
  try {
    const res = await fetch(`${devIdpIssuer(cfg)}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(2000) });
    if (!res.ok) return false;
    return ((await res.json()) as { issuer?: unknown }).issuer === devIdpIssuer(cfg);
  } catch {
    return false;
  }
}

export async function idpUp(cfg: Config, report: Reporter): Promise<void> {
  if (await idpHealthy(cfg)) {
    report(`idp: reusing the healthy development IdP at ${devIdpIssuer(cfg)}`);
    return;
  }
  if (!existsSync(devIdpServerJs)) throw new Error(`idp: ${devIdpServerJs} is missing; build it with \`npm run build\``);
  const proc = startDetached({
    runDir: cfg.dataDir,
    name: NAME,
    command: process.execPath,
    args: [devIdpServerJs, '--port', String(cfg.stack.idpPort), '--data-dir', cfg.dataDir, '--people', cfg.stack.idpPeopleFile,
      '--access-token-ttl', String(cfg.stack.idpAccessTokenTtlSeconds),
      '--temporal-ui-redirect', `http://127.0.0.1:${cfg.temporal.uiPort}/auth/sso/callback`],
    cwd: projectRoot,
  });
  report(`idp: starting the development IdP (pid ${proc.pid}, log ${proc.logFile})`);
  await waitFor('idp', () => idpHealthy(cfg), { timeoutMs: 30_000, alive: () => readLivePid(pidFile(cfg.dataDir, NAME)) !== undefined, logFile: proc.logFile });
  report(`idp: development OpenID provider (never for production) at ${devIdpIssuer(cfg)}; people from ${cfg.stack.idpPeopleFile}; sign in with \`provisioner login\``);
}

export async function idpDown(cfg: Config): Promise<boolean> {
  return stopByPidFile(pidFile(cfg.dataDir, NAME), 5_000);
}

export async function idpStatus(cfg: Config): Promise<ServerStatus> {
  return {
    name: NAME,
    where: `${devIdpIssuer(cfg)} (development IdP)`,
    managed: true,
    pid: readLivePid(pidFile(cfg.dataDir, NAME)),
    healthy: await idpHealthy(cfg),
  };
}

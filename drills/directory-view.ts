// A drill pipeline's directory application read as the oracle reads an application: every account in
// its subtree (the people and disabled OUs) with its groups, listed through the product's own LDAP
// connector (listAccounts, the listing reconciliation reads), built from the pipeline's `ldap`
// settings as the worker builds it.
import { createConnector } from '../connectors/config.js';
import type { Account, ListAccountsCapable } from '../connectors/contract.js';
import { NotFoundError } from '../connectors/errors.js';
import type { Logger } from '../observability/logger.js';
import { LDAP_BIND_PASSWORD_VARIABLE, ldapConnectorConfig } from '../runtime/connectors.js';
import { projectRoot, type Config } from '../schemas/config.js';
import type { AppView } from './app-view.js';

/** The drill's own subtree of the directory: its people, groups and disabled OUs under `ou=<drill id>`. */
export function drillSubtree(id: string): Config['ldap']['ous'] {
  const top = `ou=drill-${id.replaceAll(/[^a-z0-9-]/gi, '-')}`;
  return { people: `ou=people,${top}`, groups: `ou=groups,${top}`, disabled: `ou=disabled,${top}` };
}

/**
 * Every account of the directory application `app` in `cfg.ldap`'s subtree, listed page by page;
 * none when the subtree itself is gone (32 noSuchObject on its OUs: a directory back empty).
 */
export async function listDirectory(cfg: Config, app: string, logger: Logger): Promise<Account[]> {
  const env = cfg.ldap.bindPassword ? { [LDAP_BIND_PASSWORD_VARIABLE]: cfg.ldap.bindPassword } : process.env;
  const connector = createConnector(ldapConnectorConfig(cfg, app), { root: projectRoot, logger, env }) as ReturnType<typeof createConnector> & ListAccountsCapable;
  const call = { idempotencyKey: `drill-oracle/${app}`, correlationId: `drill-oracle/${app}`, signal: new AbortController().signal };
  try {
    const out: Account[] = [];
    let cursor: string | undefined;
    do {
      const page = await connector.listAccounts(cursor ? { cursor } : {}, call);
      out.push(...page.items);
      cursor = page.next;
    } while (cursor);
    return out;
  } catch (err) {
    if (err instanceof NotFoundError) return [];
    throw err;
  } finally {
    await connector.close?.();
  }
}

/** The directory as the oracle compares it. */
export async function directoryView(cfg: Config, app: string, logger: Logger): Promise<AppView> {
  const accounts = await listDirectory(cfg, app, logger);
  return { name: app, accounts: accounts.map((a) => ({ id: a.id, externalId: a.externalId, active: a.active, groups: a.entitlements ?? [] })) };
}

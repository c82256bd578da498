// `provisioner store migrate`: the store's migrations alone, as a deploy step, without starting a
// worker (which also migrates at start). As the owner role when postgres.ownerUrl is set, which
// then grants the runtime role its share (store/migrate.ts).
import type { Command } from 'commander';
import { migrateStore } from '../../store/open-store.js';
import { postgresTarget } from '../../store/postgres-connection.js';
import { loadConfig, ownerConnection, runtimeConnection } from '../../schemas/config.js';
import { say } from '../say.js';

export function registerStoreCommands(program: Command): void {
  const store = program.command('store').description('the PostgreSQL store');
  store
    .command('migrate')
    .description('apply pending migrations as the owner role (postgres.ownerUrl, else postgres.url) and grant the runtime role its share')
    .action(async () => {
      const cfg = loadConfig();
      const result = await migrateStore(cfg);
      const owner = ownerConnection(cfg);
      const as = postgresTarget(owner ?? runtimeConnection(cfg)).user;
      say(`store: schema ${cfg.postgres.schema} migrated as role "${as}": ${result.applied.length} applied${result.applied.length ? ` (${result.applied.join(', ')})` : ''}, ${result.alreadyApplied.length} already applied` +
        (owner ? `; role "${postgresTarget(runtimeConnection(cfg)).user}" granted the runtime privileges` : ''));
    });
}

// Policy versions: every content hash a decision was made under, with where it came from.
import type { Db } from './db.js';
import type { StoreTx } from './store.js';

export type PolicyVersion = { version: string; source: string; loadedAt: Date };

/** Records a policy version (its content hash) the first time it is loaded. */
export async function recordPolicyVersion(tx: StoreTx, input: { version: string; source: string }): Promise<{ created: boolean }> {
  const { rowCount } = await tx.client.query(
    'insert into policy_versions (version, source) values ($1, $2) on conflict (version) do nothing',
    [input.version, input.source],
  );
  return { created: rowCount === 1 };
}

export async function listPolicyVersions(db: Db): Promise<PolicyVersion[]> {
  const { rows } = await db.query<{ version: string; source: string; loaded_at: Date }>(
    'select version, source, loaded_at from policy_versions order by loaded_at desc',
  );
  return rows.map((r) => ({ version: r.version, source: r.source, loadedAt: r.loaded_at }));
}

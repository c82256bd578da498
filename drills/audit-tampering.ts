// An attacker with write access to the database (but neither the signing key nor the checkpoint
// file) tampering with a drill's audit trail, each kind on its own copy of the trail (a schema
// beside the drill's: the tables copied without their append-only triggers), so the drill's real
// trail stays whole for the oracle: a record modified, one deleted, a forged one inserted in the
// middle (its successors renumbered, the head extended), two swapped, and the tail truncated with
// the head row rolled back to match.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { canonicalize } from '../store/canonical-json.js';
import { sha256 } from '../store/audit-chain.js';
import { createStorePool } from '../store/db.js';
import { createSigner, generateSigningSeed } from '../store/signing.js';
import { runtimeConnection, type Config } from '../schemas/config.js';

export const TAMPERINGS = ['modify', 'delete', 'insert', 'reorder', 'truncate'] as const;
export type Tampering = (typeof TAMPERINGS)[number];

/** What each tampering did to its copy: the first record a verification should name. */
export type Tampered = { kind: Tampering; seq: number; rows: number };

type Sql = (text: string, values?: unknown[]) => Promise<pg.QueryResult>;

async function tamper(sql: Sql, kind: Tampering, seq: number, keyId: string): Promise<number> {
  switch (kind) {
    case 'modify':
      return (await sql(`update audit_records set body = replace(body, '"action"', '"action" ') where seq = $1`, [seq])).rowCount ?? 0;
    case 'delete':
      return (await sql('delete from audit_records where seq = $1', [seq])).rowCount ?? 0;
    case 'reorder': {
      // Two steps around the primary key: out of the way, then back swapped.
      await sql('update audit_records set seq = seq + 1000000000 where seq in ($1, $2)', [seq, seq + 1]);
      return (await sql('update audit_records set seq = case seq when $1::bigint + 1000000000 then $1::bigint + 1 else $1::bigint end where seq > 1000000000', [seq])).rowCount ?? 0;
    }
    case 'insert': {
      const previous = (await sql('select hash, body, apps from audit_records where seq = $1', [seq - 1])).rows[0] as { hash: string; body: string; apps: string[] };
      await sql('update audit_records set seq = seq + 1000000000 where seq >= $1', [seq]);
      await sql('update audit_records set seq = seq - 1000000000 + 1 where seq > 1000000000');
      // A record forged to follow its predecessor, signed under the real key id with a key the attacker made.
      const body = canonicalize({ ...(JSON.parse(previous.body) as Record<string, unknown>), seq, id: randomUUID(), prev: previous.hash, reason: 'backdated grant' });
      const hash = sha256(body);
      const parsed = JSON.parse(body) as { id: string; at: string; actor: string; action: string; subject: string | null };
      const signature = createSigner(keyId, generateSigningSeed()).sign('record', hash);
      const inserted = await sql(
        'insert into audit_records (seq, record_id, hash, body, signature, recorded_at, actor, action, subject, apps) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)',
        [seq, parsed.id, hash, body, signature, parsed.at, parsed.actor, parsed.action, parsed.subject, previous.apps],
      );
      await sql('update audit_head set seq = seq + 1, hash = (select hash from audit_records order by seq desc limit 1)');
      return inserted.rowCount ?? 0;
    }
    case 'truncate': {
      const cut = await sql('delete from audit_records where seq >= $1', [seq]);
      await sql('update audit_head set seq = $1, hash = (select hash from audit_records where seq = $1)', [seq - 1]);
      return cut.rowCount ?? 0;
    }
  }
}

/**
 * Copies the trail of `cfg`'s store into a schema of its own, applies one tampering at `seq`, and
 * hands a pool on the copy to `check`; the copy is dropped afterwards.
 */
export async function onTamperedCopy<T>(cfg: Config, kind: Tampering, seq: number, keyId: string, check: (pool: pg.Pool, tampered: Tampered) => Promise<T>): Promise<T> {
  const source = cfg.postgres.schema;
  const copy = `${source}_${kind}`.slice(0, 63);
  const pool = createStorePool(runtimeConnection(cfg), { schema: copy, max: 2, applicationName: 'provisioner-drill-tamper' });
  const sql: Sql = (text, values) => pool.query(text, values);
  try {
    // One snapshot of head and records (one connection, one transaction): appends meanwhile do not skew the copy.
    const tables = ['audit_head', 'audit_records'].map((t) => `create table ${copy}.${t} (like ${source}.${t} including all); insert into ${copy}.${t} select * from ${source}.${t};`);
    await sql(`begin isolation level repeatable read; drop schema if exists ${copy} cascade; create schema ${copy}; ${tables.join(' ')} commit;`);
    const rows = await tamper(sql, kind, seq, keyId);
    return await check(pool, { kind, seq, rows });
  } finally {
    await sql(`drop schema if exists ${copy} cascade`).catch(() => undefined);
    await pool.end();
  }
}

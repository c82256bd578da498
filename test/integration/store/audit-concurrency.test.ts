// Concurrent writers never fork the chain: 8 writers appending 1,000 records each, at the same time,
// make one chain of 8,000 records that verifies. Each writer has its own store and connection, as
// separate worker processes would, and appends one record per transaction (half of them inside a
// store change, half as stand-alone records), so every append contends for the head's lock.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../../store/audit-record.js';
import { verifyAuditChain } from '../../../store/audit-verify.js';
import { createStorePool } from '../../../store/db.js';
import { createStore, type Store } from '../../../store/store.js';
import { databaseUrl } from '../../../schemas/config.js';
import { cfg, createTestStore, type TestStore } from './test-store.js';

const WRITERS = 8;
const RECORDS_EACH = 1_000;

let t: TestStore;
beforeAll(async () => {
  t = await createTestStore('concurrency', { poolMax: WRITERS + 2 });
});
afterAll(async () => {
  await t?.drop();
});

describe('concurrent appends', () => {
  it(`${WRITERS} writers × ${RECORDS_EACH} records make one chain that verifies`, async () => {
    const writers: Store[] = Array.from({ length: WRITERS }, () =>
      createStore({ pool: createStorePool(databaseUrl(cfg), { schema: t.schema, max: 1 }), schema: t.schema, keys: t.store.keys, ownsPool: true }),
    );
    const writer = async (w: number): Promise<void> => {
      const store = writers[w]!;
      for (let i = 0; i < RECORDS_EACH; i += 1) {
        const entry: AuditEntry = {
          actor: { type: 'service', id: `writer-${w}` },
          action: 'account.ensured',
          reason: `writer ${w} record ${i}`,
          subject: { employeeId: `W${w}-P${i % 10}` },
          changes: [{ op: 'ensureAccount', app: `app-${w % 3}`, outcome: 'created', account: `acct-${w}-${i}` }],
        };
        if (w % 2 === 0) await store.change(async () => undefined, entry);
        else await store.audit(entry);
      }
    };
    try {
      await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
    } finally {
      await Promise.all(writers.map((s) => s.close()));
    }

    const result = await verifyAuditChain(t.store.pool, { verifier: t.store.keys.verifier });
    expect(result).toMatchObject({ ok: true, verified: WRITERS * RECORDS_EACH, head: { seq: WRITERS * RECORDS_EACH } });

    // One chain: each record's predecessor is unique (no two records extend the same head).
    const { rows } = await t.store.pool.query<{ records: string; distinct_prev: string; writers: string }>(
      `select count(*) as records, count(distinct body::jsonb ->> 'prev') as distinct_prev, count(distinct actor) as writers from audit_records`,
    );
    expect(rows[0]).toEqual({ records: String(WRITERS * RECORDS_EACH), distinct_prev: String(WRITERS * RECORDS_EACH), writers: String(WRITERS) });
    const perWriter = await t.store.pool.query<{ actor: string; n: string }>('select actor, count(*) as n from audit_records group by actor');
    expect(perWriter.rows.every((r) => Number(r.n) === RECORDS_EACH)).toBe(true);
  });
});

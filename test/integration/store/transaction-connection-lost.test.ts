// A transaction whose server connection ends between two statements (the server crashed or shut
// down immediately, as the postgres-restart drill does) fails, and the process lives on: a
// checked-out client has no pool listener, and its unhandled 'error' once ended a worker.
import { afterAll, describe, expect, it } from 'vitest';
import { createStorePool, inTransaction } from '../../../store/db.js';
import { databaseUrl } from '../../../schemas/config.js';
import { cfg } from './test-store.js';

const pool = createStorePool(databaseUrl(cfg), { max: 2 });
afterAll(() => pool.end());

describe('inTransaction when the connection is lost', () => {
  it('rejects, destroys the connection, and the pool serves the next transaction', async () => {
    const ending = inTransaction(pool, async (client) => {
      const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
      // Another session ends this one while no statement of it is under way.
      await pool.query('select pg_terminate_backend($1)', [rows[0]!.pid]);
      await new Promise((r) => setTimeout(r, 500));
      return 'committed';
    });
    await expect(ending).rejects.toThrow();
    expect(await inTransaction(pool, async (client) => (await client.query<{ one: number }>('select 1 as one')).rows[0]!.one)).toBe(1);
  }, 30_000);
});

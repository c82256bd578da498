// Which applications are plan-only: the configuration's default overridden by an operator's recorded
// mode, read through a cache of at most 2 s, and failing closed (an error, never a guess) when the
// store cannot be read and the cache is too old.
import { describe, expect, it } from 'vitest';
import { ApplicationModesUnavailableError, createApplicationModeReader, MODE_MAX_AGE_MS } from '../../activities/application-modes.js';
import { effectiveApplicationMode, type Db } from '../../store/index.js';

type Row = { app: string; mode: 'plan-only' | 'armed' };

/** A store that answers the modes query from `rows` (or fails while `down`), counting queries. */
function fakeStore(initial: Row[]) {
  const state = { rows: initial, down: false, queries: 0 };
  const db = {
    async query(sql: string) {
      state.queries += 1;
      if (!sql.includes('from application_modes')) throw new Error(`unexpected query: ${sql}`);
      if (state.down) throw new Error('connect ECONNREFUSED 127.0.0.1:15432');
      await Promise.resolve();
      return { rows: state.rows.map((r) => ({ ...r, person_id: null, employee_id: 'E1', changed_at: new Date(0), reason: null })) };
    },
  } as unknown as Db;
  return { db, state };
}

describe('the effective mode of an application', () => {
  it('is the configuration default when no operator recorded one, and the recorded one otherwise', () => {
    const recorded = new Map([['crm', { mode: 'armed' as const }], ['chat', { mode: 'plan-only' as const }]]);
    expect(effectiveApplicationMode('code', ['code', 'crm'], recorded)).toEqual({ mode: 'plan-only', source: 'config', configDefault: 'plan-only' });
    expect(effectiveApplicationMode('directory', ['code', 'crm'], recorded)).toEqual({ mode: 'armed', source: 'config', configDefault: 'armed' });
    expect(effectiveApplicationMode('crm', new Set(['code', 'crm']), recorded)).toEqual({ mode: 'armed', source: 'store', configDefault: 'plan-only' });
    expect(effectiveApplicationMode('chat', [], recorded)).toEqual({ mode: 'plan-only', source: 'store', configDefault: 'armed' });
  });
});

describe('the plan-only reader of the activities', () => {
  it('applies the store over the configuration and reads the store at most once per 2 s', async () => {
    let t = 1_000;
    const { db, state } = fakeStore([{ app: 'crm', mode: 'armed' }]);
    const reader = createApplicationModeReader({ db, planOnly: ['crm', 'code'], now: () => t });
    expect(await reader.isPlanOnly('crm')).toBe(false);
    expect(await reader.isPlanOnly('code')).toBe(true);
    expect(await reader.isPlanOnly('chat')).toBe(false);
    expect(state.queries).toBe(1);

    // An operator disarms crm: seen once the cached modes are older than the bound, not before.
    state.rows = [{ app: 'crm', mode: 'plan-only' }];
    t += MODE_MAX_AGE_MS - 1;
    expect(await reader.isPlanOnly('crm')).toBe(false);
    expect(state.queries).toBe(1);
    t += 1;
    expect(await reader.isPlanOnly('crm')).toBe(true);
    expect(state.queries).toBe(2);
  });

  it('concurrent steps share one query', async () => {
    const { db, state } = fakeStore([]);
    const reader = createApplicationModeReader({ db, planOnly: ['code'], now: () => 0 });
    const answers = await Promise.all(['code', 'chat', 'code', 'crm'].map((app) => reader.isPlanOnly(app)));
    expect(answers).toEqual([true, false, true, false]);
    expect(state.queries).toBe(1);
  });

  it('fails closed: a store that cannot be read once the cache is stale is an error, never a guess', async () => {
    let t = 0;
    const { db, state } = fakeStore([{ app: 'crm', mode: 'armed' }]);
    const reader = createApplicationModeReader({ db, planOnly: ['crm'], now: () => t });
    state.down = true;
    // Nothing read yet: no answer at all, neither the configuration's plan-only nor armed.
    await expect(reader.isPlanOnly('crm')).rejects.toBeInstanceOf(ApplicationModesUnavailableError);
    await expect(reader.current()).rejects.toThrow(/could not be read from the store \(connect ECONNREFUSED.*no step is applied until they can be/);
    state.down = false;
    expect(await reader.isPlanOnly('crm')).toBe(false);
    // Within the bound the cached answer stands; past it, a failed read is an error again.
    state.down = true;
    t += MODE_MAX_AGE_MS - 1;
    expect(await reader.isPlanOnly('crm')).toBe(false);
    t += 1;
    const err = await reader.isPlanOnly('crm').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationModesUnavailableError);
    expect((err as ApplicationModesUnavailableError).retryable).toBe(true);
    expect((err as Error).name).toBe('ApplicationModesUnavailableError');
  });
});

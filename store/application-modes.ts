// Application modes (docs/architecture.md#plan-only-applications): an operator arms an application (its steps are
// written) or puts it back in plan-only mode (every step planned, recorded and audited, nothing
// written). The mode an operator set is a row here, committed with its audit record
// (`application.armed` / `application.disarmed`, the operator as actor); an application without a
// row has the configuration's default (`safety.planOnly`), see effectiveApplicationMode.
//
// The operator's reason is free text and may name people: it is sealed under the operator's own key
// in the row and in the audit record's `personal` part (the record's subject is the operator), and
// the record's clear reason names only the application and the modes.
import { DecryptionError } from '../crypto/aes-gcm.js';
import type { AppendedRecord, AuditEntry } from './audit-record.js';
import type { Db } from './db.js';
import { ensurePerson, openJson, personKey, sealJson } from './person-keys.js';
import type { Store, StoreTx } from './store.js';
import type { KeyEncryptionKeys } from './store-keys.js';

export const applicationModeNames = ['plan-only', 'armed'] as const;
export type ApplicationMode = (typeof applicationModeNames)[number];

/** As the policy names applications (schemas/policy.ts appIdSchema; the table checks it too). */
const APP_ID = /^[a-z][a-z0-9-]{0,31}$/;
export const MAX_MODE_REASON = 500;

export type SetApplicationModeInput = {
  app: string;
  mode: ApplicationMode;
  /** The operator: the authenticated caller, never a typed name. */
  operatorId: string;
  /** Why, in the operator's words (1-500 characters once trimmed). */
  reason: string;
};

/** `changed` is false for a repeat (the recorded mode already is `mode`): nothing was written. */
export type SetApplicationModeResult = { changed: boolean; previous: ApplicationMode | null };

export type RecordedApplicationMode = {
  mode: ApplicationMode;
  /** The operator's employee id; null once they were purged. */
  changedBy: string | null;
  changedAt: Date;
  /** Undefined when it cannot be read here (no key-encryption key given, or the operator was purged). */
  reason: string | undefined;
};

/** Where an application's effective mode comes from: the configuration's default, or an operator's recorded decision. */
export type EffectiveApplicationMode = { mode: ApplicationMode; source: 'config' | 'store'; configDefault: ApplicationMode };

/** The mode in force: the one an operator recorded, else the configuration's default (plan-only when listed in `safety.planOnly`). */
export function effectiveApplicationMode(
  app: string,
  configPlanOnly: ReadonlySet<string> | readonly string[],
  recorded: ReadonlyMap<string, Pick<RecordedApplicationMode, 'mode'>>,
): EffectiveApplicationMode {
  const listed = 'has' in configPlanOnly ? configPlanOnly.has(app) : configPlanOnly.includes(app);
  const configDefault: ApplicationMode = listed ? 'plan-only' : 'armed';
  const found = recorded.get(app);
  return found ? { mode: found.mode, source: 'store', configDefault } : { mode: configDefault, source: 'config', configDefault };
}

const reasonContext = (app: string): string => `application-mode-reason:${app}`;

function checkInput(input: SetApplicationModeInput): { reason: string } {
  if (!APP_ID.test(input.app)) throw new RangeError(`"${input.app}" is not an application id (lower-case letters, digits and dashes)`);
  if (!(applicationModeNames as readonly string[]).includes(input.mode)) throw new RangeError(`mode must be one of ${applicationModeNames.join(', ')}`);
  const reason = input.reason.trim();
  if (reason.length < 1 || reason.length > MAX_MODE_REASON) throw new RangeError(`a reason is 1-${MAX_MODE_REASON} characters`);
  return { reason };
}

/**
 * Records the mode an operator set. A repeat (the recorded mode already is `mode`) writes nothing
 * and reports `changed: false`; concurrent calls for one application are serialised, so `previous`
 * is exactly what the change replaced.
 */
export async function setApplicationMode(tx: StoreTx, input: SetApplicationModeInput): Promise<SetApplicationModeResult> {
  const { reason } = checkInput(input);
  // Transaction-scoped, per schema and application: two operators arming at once take turns.
  await tx.client.query(`select pg_advisory_xact_lock(hashtextextended(current_schema() || ':application-mode:' || $1, 0))`, [input.app]);
  const { rows } = await tx.client.query<{ mode: ApplicationMode }>('select mode from application_modes where app = $1', [input.app]);
  const previous = rows[0]?.mode ?? null;
  if (previous === input.mode) return { changed: false, previous };
  const operator = await ensurePerson(tx.client, tx.kek, input.operatorId);
  await tx.client.query(
    `insert into application_modes (app, mode, changed_by, changed_at, reason) values ($1, $2, $3, now(), $4)
     on conflict (app) do update set mode = excluded.mode, changed_by = excluded.changed_by, changed_at = excluded.changed_at, reason = excluded.reason`,
    [input.app, input.mode, operator.personId, sealJson(operator, reasonContext(input.app), reason)],
  );
  return { changed: true, previous };
}

/**
 * The audit record of a mode change: the operator acts (and is the subject, whose key seals their
 * words); the clear reason names the application and the modes, never people.
 */
export function applicationModeAudit(
  input: SetApplicationModeInput & { configDefault?: ApplicationMode },
  result: SetApplicationModeResult,
): AuditEntry {
  const armed = input.mode === 'armed';
  const before = result.previous ? `${result.previous} (recorded)` : input.configDefault ? `${input.configDefault} (configuration default)` : 'the configuration default';
  return {
    actor: { type: 'person', employeeId: input.operatorId },
    action: armed ? 'application.armed' : 'application.disarmed',
    reason: `${input.app} ${armed ? 'armed: its steps are written' : 'disarmed: plan-only, nothing is written'}; before: ${before}`,
    subject: { employeeId: input.operatorId },
    changes: [{ op: armed ? 'application.arm' : 'application.disarm', app: input.app, outcome: input.mode }],
    personal: { reason: input.reason.trim() },
  };
}

/** Sets the mode and appends its audit record in one transaction (none for a repeat). */
export async function recordApplicationMode(
  store: Store,
  input: SetApplicationModeInput & { configDefault?: ApplicationMode },
): Promise<SetApplicationModeResult & { record: AppendedRecord | null }> {
  const { result, record } = await store.change(
    (tx) => setApplicationMode(tx, input),
    (r) => (r.changed ? applicationModeAudit(input, r) : null),
  );
  return { ...result, record };
}

type ModeRow = { app: string; mode: ApplicationMode; person_id: string | null; employee_id: string | null; changed_at: Date; reason: Buffer };

/**
 * The modes operators recorded, by application. With the key-encryption key the reasons are opened
 * (the worker's reader passes none: it needs the modes only).
 */
export async function applicationModes(db: Db, kek?: KeyEncryptionKeys): Promise<Map<string, RecordedApplicationMode>> {
  const { rows } = await db.query<ModeRow>(
    `select m.app, m.mode, m.changed_by as person_id, i.employee_id, m.changed_at, ${kek ? 'm.reason' : 'null as reason'}
       from application_modes m left join identities i on i.person_id = m.changed_by
      order by m.app`,
  );
  const keys = new Map<string, Buffer | undefined>();
  const reasonOf = async (row: ModeRow): Promise<string | undefined> => {
    if (!kek || !row.person_id || !row.reason) return undefined;
    if (!keys.has(row.person_id)) keys.set(row.person_id, await personKey(db, kek, row.person_id));
    const key = keys.get(row.person_id);
    if (!key) return undefined;
    try {
      return String(openJson({ personId: row.person_id, key }, reasonContext(row.app), row.reason));
    } catch (err) {
      if (err instanceof DecryptionError) return undefined;
      throw err;
    }
  };
  const modes = new Map<string, RecordedApplicationMode>();
  for (const row of rows) {
    modes.set(row.app, { mode: row.mode, changedBy: row.employee_id, changedAt: row.changed_at, reason: await reasonOf(row) });
  }
  return modes;
}

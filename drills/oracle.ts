// The drill's oracle: after quiescence, four views of the same people compared.
//   1. the ledger: what the drill published (everyone's last event: active or terminated);
//   2. the applications: every account and group membership, read over SCIM, and each app's
//      write log (a second create for one person is a duplicate even if it was removed since); the
//      directory, when the pipeline has one, through its LDAP connector's listing (directory-view.ts);
//   3. the workflows: each person's identity workflow, asked what it applied last (getState);
//   4. the audit chain: verified end to end, and every account the apps hold has its audit record.
// A person whose last change was made to fail for good (the ledger's `expect: 'rolled-back'`) must
// hold no account at all: the saga deleted what the change created, and anything left is access
// that should be gone (half-provisioned).
// It counts what must be zero (duplicates, missing accounts, access that should be gone, lost
// events, unaudited changes) and keeps the people behind each count for the report.
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { z } from 'zod';
import { queryAudit, verifyAuditChain, type Store } from '../store/index.js';
import { getState, identityWorkflowId } from '../workflows/messages.js';
import type { AppView } from './app-view.js';
import type { DrillApp, DrillDirectory } from './drill-pipeline.js';
import { DRILL_GROUPS } from './drill-policy.js';
import type { LedgerEntry } from './workload.js';

export type OracleCounts = { duplicates: number; missing: number; shouldBeGone: number; lost: number; unaudited: number };
export type OracleResult = {
  counts: OracleCounts;
  /** Up to ten people behind each count, for the report. */
  examples: Record<keyof OracleCounts, string[]>;
  chain: { ok: boolean; verified: number; problem?: string };
  people: number;
  accounts: number;
};

export const userSchema = z.object({ id: z.string(), externalId: z.string().optional(), active: z.boolean().optional() });
export const groupSchema = z.object({ id: z.string(), displayName: z.string(), members: z.array(z.object({ value: z.string() })).optional() });
const listSchema = <T extends z.ZodType>(item: T) => z.object({ totalResults: z.number(), Resources: z.array(item).optional() });
const writeSchema = z.object({ at: z.number(), operation: z.string(), resourceType: z.string(), externalId: z.string().optional(), changed: z.boolean() });

/** Every Users or Groups resource of a drill app, over SCIM. */
export async function scimList<T extends z.ZodType>(app: DrillApp, resource: 'Users' | 'Groups', item: T): Promise<Array<z.infer<T>>> {
  const out: Array<z.infer<T>> = [];
  for (let start = 1; ; start += 1000) {
    const res = await fetch(`${app.scimUrl}/${resource}?startIndex=${start}&count=1000`, { headers: { authorization: `Bearer ${app.token}` } });
    if (!res.ok) throw new Error(`${app.name}: GET /${resource} answered ${res.status}`);
    const page = listSchema(item).parse(await res.json());
    out.push(...(page.Resources ?? []));
    if ((page.Resources ?? []).length === 0 || out.length >= page.totalResults) return out;
  }
}

/** The app's write log, oldest first, each write with the app's own time (`at`, ms since the epoch). */
export async function writesOf(app: DrillApp): Promise<Array<z.infer<typeof writeSchema>>> {
  const res = await fetch(`${app.app.url}/admin/writes?limit=1000000`, { headers: { authorization: `Bearer ${app.token}` } });
  if (!res.ok) throw new Error(`${app.name}: GET /admin/writes answered ${res.status}`);
  return z.object({ writes: z.array(writeSchema) }).parse(await res.json()).writes;
}

/** A drill SCIM app as the oracle compares it: its users with their groups, and its creates from the write log. */
export async function scimView(app: DrillApp): Promise<AppView> {
  const users = await scimList(app, 'Users', userSchema);
  const groups = await scimList(app, 'Groups', groupSchema);
  const creates = new Map<string, number>();
  for (const w of await writesOf(app)) if (w.resourceType === 'User' && w.operation === 'create' && w.changed && w.externalId) creates.set(w.externalId, (creates.get(w.externalId) ?? 0) + 1);
  const groupsOf = (userId: string) => groups.filter((g) => g.members?.some((m) => m.value === userId)).map((g) => g.displayName);
  const accounts = users.flatMap((u) => (u.externalId ? [{ id: u.id, externalId: u.externalId, active: u.active !== false, groups: groupsOf(u.id) }] : []));
  return { name: app.name, accounts, creates };
}

/**
 * A person's workflow state. A query that fails on a loaded machine (it timed out, a worker was busy)
 * is asked again, a few times: a query that could not be answered is not a lost event (seen at load
 * 20: quiescence had read both people settled, and the oracle then counted them lost). A workflow
 * that does not exist is answered at once: undefined.
 */
async function askState(client: Client, employeeId: string) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await client.workflow.getHandle(identityWorkflowId(employeeId)).query(getState);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError || attempt >= 5) return undefined;
      await sleep(1_000 * attempt);
    }
  }
}

export async function runOracle(input: { ledger: ReadonlyMap<string, LedgerEntry>; apps: readonly DrillApp[]; directory?: DrillDirectory | undefined; client: Client; store: Store }): Promise<OracleResult> {
  const examples: OracleResult['examples'] = { duplicates: [], missing: [], shouldBeGone: [], lost: [], unaudited: [] };
  const counts: OracleCounts = { duplicates: 0, missing: 0, shouldBeGone: 0, lost: 0, unaudited: 0 };
  const count = (what: keyof OracleCounts, who: string) => {
    counts[what] += 1;
    if (examples[what].length < 10) examples[what].push(who);
  };
  let accounts = 0;
  // The audit trail's completed account steps, per person and application.
  const audited = new Set<string>();
  const AUDIT_PAGE = 100_000;
  // A store that lost its tables (a database back empty) has no trail to read: nothing is audited, the chain is not whole.
  let unreadable: string | undefined;
  const readFailed = (err: unknown) => {
    unreadable = (err as Error).message.split('\n')[0];
    return undefined;
  };
  const views = [...(await Promise.all(input.apps.map((app) => scimView(app)))), ...(input.directory ? [await input.directory.view()] : [])];
  for (const app of views) {
    const rows = (await queryAudit(input.store.pool, input.store.keys.kek, { action: 'step.completed', app: app.name, limit: AUDIT_PAGE }).catch(readFailed)) ?? [];
    if (rows.length === AUDIT_PAGE) throw new Error(`${app.name}: more than ${AUDIT_PAGE} completed steps in the drill's audit trail; the oracle reads one page`);
    for (const row of rows) for (const c of row.changes) if (c.op === 'ensureAccount' && c.app === app.name && row.subjectEmployeeId) audited.add(`${app.name}|${row.subjectEmployeeId}`);
  }
  for (const app of views) {
    const byPerson = new Map<string, AppView['accounts']>();
    for (const a of app.accounts) byPerson.set(a.externalId, [...(byPerson.get(a.externalId) ?? []), a]);
    for (const [employeeId, entry] of input.ledger) {
      const held = byPerson.get(employeeId) ?? [];
      accounts += held.length;
      if (held.length > 1 || (app.creates?.get(employeeId) ?? 0) > 1) count('duplicates', `${app.name}:${employeeId}`);
      if (held.length > 0 && !audited.has(`${app.name}|${employeeId}`)) count('unaudited', `${app.name}:${employeeId}`);
      if (entry.expect === 'rolled-back') {
        if (held.length > 0) count('shouldBeGone', `${app.name}:${employeeId}`);
      } else if (entry.status === 'active') {
        const account = held[0];
        const missingGroups = account ? DRILL_GROUPS.filter((g) => !account.groups.includes(g)) : DRILL_GROUPS;
        if (!account || !account.active || missingGroups.length > 0) count('missing', `${app.name}:${employeeId}`);
      } else if (held.some((a) => a.active || a.groups.length > 0)) {
        count('shouldBeGone', `${app.name}:${employeeId}`);
      }
    }
  }
  // Every event reached its workflow: the last sequence applied is the ledger's last.
  const entries = [...input.ledger.values()];
  for (let i = 0; i < entries.length; i += 16) {
    await Promise.all(
      entries.slice(i, i + 16).map(async (entry) => {
        const state = await askState(input.client, entry.employeeId);
        if (!state || state.lastAppliedSequence !== entry.lastSequence) count('lost', entry.employeeId);
      }),
    );
  }
  const verified = unreadable ? undefined : await verifyAuditChain(input.store.pool, { verifier: input.store.keys.verifier }).catch(readFailed);
  return {
    counts,
    examples,
    chain: verified
      ? { ok: verified.ok, verified: verified.verified, ...(verified.problem ? { problem: `${verified.problem.kind} at ${verified.problem.seq ?? '?'}` } : {}) }
      : { ok: false, verified: 0, problem: `the audit trail could not be read: ${unreadable ?? 'unknown'}` },
    people: input.ledger.size,
    accounts,
  };
}

/** Passed: every count zero and the chain sound. */
export const oraclePassed = (r: OracleResult): boolean => Object.values(r.counts).every((n) => n === 0) && r.chain.ok;

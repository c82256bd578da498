// The reconciliation's activities (workflows/reconcile-application.ts):
//   startReconcileRun          the run's row, and the application's settings in force;
//   listApplicationAccounts    the listing, page by page into PostgreSQL, on the application's own
//                              (rate-limited) queue, heartbeating; after a lost worker it resumes
//                              after the last page it stored;
//   recordListingFailure       a listing that failed for good: the run goes on without removals;
//   compareApplicationListing  every identity's desired state against the listing: drift stored,
//                              each new finding audited once, resolved ones audited, the safety
//                              rules applied, and what the run may do about each finding decided;
//   disableOrphanAccount       one orphan disabled (never deleted), between its audit records;
//   finishReconcileRun         the run's counts and outcome.
// The listing keeps personal values out of clear text: correlation values and mapped attributes
// are stored as keyed digests (store/blind-index.ts), and compared as digests.
import { orphanPageRequestId } from '../workflows/reconcile/paged-remedy.js';
import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { APPLICATION_PAUSED } from '../workflows/messages.js';
import type { Account, Connector } from '../connectors/contract.js';
import { can } from '../connectors/contract.js';
import type { Logger } from '../observability/logger.js';
import { normalizeValue } from '../policy/attribute-map.js';
import type { CompiledPolicy } from '../policy/compile.js';
import { classifyDrift, countByKind, type DriftKind } from '../policy/drift.js';
import { decide, type OrphanToDisable, type Reevaluation } from '../policy/reconcile-remediation.js';
import type { Identity } from '../policy/identity.js';
import { desiredAccounts, type ReconcilePerson } from '../policy/reconcile-desired.js';
import { removalBlocks, type RemovalBlock } from '../policy/reconcile-safety.js';
import { driftKinds, reconcileSettings, type ReconcileSettings } from '../schemas/reconcile.js';
import { applicationQuarantine } from '../store/quarantine.js';
import { equalityDigester, normaliseForIndex } from '../store/blind-index.js';
import { liveGrantsOf } from '../store/grants.js';
import { identityCorrelating, storedSnapshots } from '../store/identities.js';
import type { Store } from '../store/index.js';
import {
  createRun,
  finishListing,
  finishRun,
  getRun,
  lastListedPage,
  previousCompleteListing,
  readListing,
  setFindingRemediation,
  settleFinding,
  settleOrphanPage,
  markWorklist,
  pendingReevaluations,
  clearPending,
  orphanPage,
  setRunStatus,
  storeFindings,
  storePage,
  updateOpenFindings,
  type StoredAccount,
} from '../store/reconcile.js';
import { requestReevaluation } from '../clients/identity.js';
import type { PermitAnswer } from '../schemas/fence.js';
import type { RequestFencePermitInput } from './fence.js';
import type { ApplicationModeReader } from './application-modes.js';
import { activityWorkflowId, callContext } from './call-context.js';
import type { ApplicationPauses } from './quarantine.js';
import type { EntitlementCatalog } from './entitlement-catalog.js';
import { atBoundary } from './failures.js';
import { policyGrants } from './plan.js';

export const RECONCILE_ACTOR = { type: 'system' as const, id: 'reconcile' };

/** The fence's source for a reconciliation's removals: its own feed, with its own budget. */
export const reconcileSource = (app: string) => `reconcile/${app}`;

/** An orphan's name in audit reasons and fence keys: a digest of its account id, which may name a person (an LDAP DN). */
const orphanRef = (app: string, accountId: string): string => `orphan-${createHash('sha256').update(`${app}\0${accountId}`).digest('hex').slice(0, 16)}`;

export type ReconcileDeps = {
  policy: () => CompiledPolicy;
  connectors: ReadonlyMap<string, Connector>;
  catalog: EntitlementCatalog;
  store: Store;
  logger: Logger;
  modes: ApplicationModeReader;
  /** The pauses applications asked for with Retry-After (activities/quarantine.ts): a listing honours and shares them as a step does. */
  pauses: ApplicationPauses;
  /** The fence's permit ask (activities/fence.ts), for a page of orphan disables. */
  requestFencePermit: (input: RequestFencePermitInput) => Promise<PermitAnswer>;
  /** The application's rate on its queue (activities a second): a page's disables go no faster (default: unpaced). */
  appRate?: (app: string) => number;
};

/** A run that did nothing: why (its removal block) and its (zero) counts. */
export type Skipped = { block: RemovalBlock; counts: Record<DriftKind, number> };

export type StartRunInput = { runId: string; app: string; dryRun: boolean };
export type ListingInput = { runId: string; app: string; pageSize: number };
export type ListingResult = { pages: number; accounts: number; complete: true; reportedTotal?: number };
/** Where a listing stands, sent with each heartbeat (what the Temporal UI shows of a running listing). */
export type ListingProgress = { page: number; accounts: number };


export type CompareResult = {
  counts: Record<DriftKind, number>;
  /** Why the run's removals stopped (empty: they did not). */
  blocks: RemovalBlock[];
  /** People whose identity workflow is asked to re-evaluate them (remediation `fix`); unpaged runs only (before `reconcile-paged`). */
  reevaluate?: Reevaluation[];
  /** Orphans to disable (remediation `disable-orphans`), after the fence; unpaged runs only. */
  disable?: OrphanToDisable[];
  /** A paged run's worklist, kept in the store (drift_findings.pending): how many people to re-evaluate and orphans to disable. */
  worklist?: { reevaluate: number; disable: number };
  policyVersion: string;
  /** Findings first seen by this run (audited now) and findings resolved since the last. */
  opened: number;
  resolved: number;
};

export type ReevaluationPageInput = { runId: string; app: string; limit: number };
export type OrphanPageInput = { runId: string; app: string; page: number; limit: number };
export type OrphanPermitInput = OrphanPageInput & { fenceWorkflowId: string; taskQueue: string };
/** A page of orphan disables so far (its heartbeat: a retried page goes on from its store state with these counts). */
export type OrphanPageResult = { disabled: number; failed: number };

export type FinishRunInput = {
  runId: string;
  status: 'completed' | 'failed';
  counts: Record<DriftKind, number>;
  blocks: RemovalBlock[];
  remediation: Record<string, number>;
};

type DisableOutcome = 'applied' | 'already-in-state' | 'planned' | 'gone';

const PEOPLE_BATCH = 2000;
/** How many people's workflows a page of re-evaluations asks at once. */
const ASK_PARALLEL = 25;
const AUDIT_PARALLEL = 100;

/** The longest pause an application asked for (Retry-After) that a listing waits out in place, heartbeating. */
const LISTING_WAITS_OUT_MS = 5 * 60_000;

export function createReconcileActivities(deps: ReconcileDeps) {
  const { store, connectors, catalog, logger } = deps;
  const kek = () => {
    if (!store.keys.kek) throw ApplicationFailure.create({ type: 'KeyConfigError', message: 'no store key-encryption key: the listing cannot be stored without its digests (PROVISIONER_STORE_KEK)', nonRetryable: true });
    return store.keys.kek;
  };
  const digests = () => {
    const k = kek();
    const userName = equalityDigester(k, 'reconcile userName');
    const email = equalityDigester(k, 'reconcile email');
    const attribute = equalityDigester(k, 'reconcile attribute');
    return {
      correlation: (kind: 'userName' | 'email', value: string) => (kind === 'userName' ? userName : email)(normaliseForIndex(value)),
      attribute: (name: string, value: string) => attribute(`${name}\u0000${value}`),
    };
  };
  const settingsOf = (policy: CompiledPolicy, app: string): ReconcileSettings => {
    const decl = policy.applications.get(app);
    if (!decl) throw ApplicationFailure.create({ type: 'UnknownApplication', message: `the policy in force has no application ${app}`, nonRetryable: true });
    return reconcileSettings(policy.model.reconcile, decl.reconcile);
  };

  /**
   * A listing honours the pause the application asked of any worker's call: a short one is waited
   * out here, heartbeating; a longer one fails the attempt, retried once it has passed, and the
   * listing resumes after its last stored page.
   */
  async function waitOutPause(app: string, ctx: Context, progress: ListingProgress): Promise<void> {
    for (;;) {
      const ms = await deps.pauses.remainingMs(app);
      if (ms <= 0) return;
      if (ms > LISTING_WAITS_OUT_MS) {
        throw ApplicationFailure.create({ type: APPLICATION_PAUSED, message: `${app} asked for no call for another ${ms} ms (Retry-After): the listing resumes after its last stored page once it has passed`, nextRetryDelay: ms, details: [{ app }] });
      }
      ctx.heartbeat(progress);
      await ctx.sleep(Math.min(ms, 5_000));
    }
  }

  async function toStored(app: string, a: Account, digest: ReturnType<typeof digests>, call: ReturnType<typeof callContext>): Promise<StoredAccount> {
    const names = a.entitlementsUnknown === undefined && a.entitlements ? await catalog.namesOf(app, a.entitlements, call) : undefined;
    let attributeDigests: Record<string, string> | undefined;
    if (a.attributes) {
      attributeDigests = {};
      for (const [name, value] of Object.entries(a.attributes)) {
        const v = normalizeValue(value);
        if (v !== null) attributeDigests[name] = digest.attribute(name, v);
      }
    }
    return {
      accountId: a.id,
      ...(a.externalId ? { externalId: a.externalId } : {}),
      active: a.active,
      ...(names ? { entitlements: names } : {}),
      ...(a.entitlementsUnknown !== undefined ? { entitlementsUnknown: a.entitlementsUnknown } : {}),
      ...(a.userName ? { userNameDigest: digest.correlation('userName', a.userName) } : {}),
      ...(a.email ? { emailDigest: digest.correlation('email', a.email) } : {}),
      ...(attributeDigests ? { attributeDigests } : {}),
    };
  }

  /** Everyone the store knows, a page at a time, with their approved grants and (from the listing) what they hold now. */
  async function* people(listedEntitlements: ReadonlyMap<string, string[]>, app: string): AsyncGenerator<ReconcilePerson[]> {
    let after: string | undefined;
    for (;;) {
      const page = await storedSnapshots(store.pool, kek(), { ...(after !== undefined ? { after } : {}), limit: PEOPLE_BATCH });
      const grants = await liveGrantsOf(store.pool, page.items.map((p) => p.personId));
      Context.current().heartbeat();
      if (page.items.length > 0) {
        yield page.items.map((p) => ({
          identity: p.snapshot as Identity,
          grants: policyGrants(grants.get(p.personId) ?? []),
          current: (listedEntitlements.get(p.employeeId.toUpperCase()) ?? []).map((id) => `${app}:${id}`),
        }));
      }
      if (!page.next) return;
      after = page.next;
    }
  }

  /**
   * Asks the person's identity workflow (started if it is not running) to plan them again: the
   * remediation `fix`. The source `reconcile/<app>` makes the fence count what it removes as
   * the reconciliation's feed; the request id (run and person) makes a retry a no-op.
   */
  async function askToReevaluate(input: { runId: string; app: string; employeeId: string; kinds: DriftKind[] }, taskQueue: string): Promise<void> {
    const { runId, app, employeeId } = input;
    await store.audit({
      actor: RECONCILE_ACTOR,
      action: 'drift.fix-requested',
      reason: `reconciliation of ${app} asks for a re-evaluation: ${input.kinds.join(', ')}`,
      workflowId: runId,
      subject: { employeeId },
      changes: input.kinds.map((k) => ({ op: k, app })),
      idempotencyKey: `${runId}/fix/${employeeId}`,
    });
    await requestReevaluation(Context.current().client, taskQueue, employeeId, { requestId: `${runId}/${employeeId}`, source: reconcileSource(app), reason: `drift in ${app}: ${input.kinds.join(', ')}` });
  }

  /**
   * The orphan by its own handle (SCIM id, LDAP DN) alone: connectors resolve a correlation key
   * first, and an orphan that carries a known person's key (a second account of theirs) would lead
   * them to that person's real account.
   */
  const byHandle = (orphan: OrphanToDisable) => ({ ...orphan.account, externalId: '' });

  /**
   * Reads the orphan again from the application before it is disabled: why it must not be (gone,
   * disabled already, or correlating now to a stored identity: someone hired since the listing),
   * or undefined when it is still an enabled orphan (or the connector cannot read by handle).
   */
  async function orphanNoLonger(runId: string, orphan: OrphanToDisable): Promise<string | undefined> {
    const { app } = orphan.account;
    const connector = connectors.get(app);
    if (!connector || !can(connector, 'disable') || !connector.readAccountByRef) return undefined;
    const read = connector.readAccountByRef.bind(connector);
    const now = await atBoundary(() => read(byHandle(orphan), callContext(`${runId}/reread/${orphan.key}`)));
    if (!now) return 'not disabled: the account is gone from the application';
    if (!now.active) return 'not disabled: the account is disabled already';
    const byEmail = deps.policy().applications.get(app)?.correlation?.matchBy === 'email' && now.email ? { email: now.email } : {};
    // Only a person stored after the run started (hired since the listing): one the comparison knew makes this a second account of theirs.
    const run = await getRun(store.pool, runId);
    const person = run ? await identityCorrelating(store.pool, store.keys.kek, { ...(now.externalId ? { externalId: now.externalId } : {}), ...byEmail }, run.startedAt) : undefined;
    // The person is not named: the finding's text outlives a purge of them.
    return person ? 'not disabled: the account now correlates to a person hired since the listing' : undefined;
  }

  async function disableOrphan(input: { runId: string; orphan: OrphanToDisable }): Promise<DisableOutcome> {
    const { runId, orphan } = input;
    const { app } = orphan.account;
    const workflowId = activityWorkflowId();
    const change = { op: 'disableAccount', app };
    const base = { actor: RECONCILE_ACTOR, workflowId, reason: `orphan account ${orphan.ref ?? orphanRef(app, orphan.account.id)} in ${app}: no identity correlates (remediation disable-orphans)` };
    if (await deps.modes.isPlanOnly(app)) {
      await store.audit({ ...base, action: 'step.planned', changes: [{ ...change, outcome: 'planned' }], idempotencyKey: `${runId}/disable/${orphan.key}#planned` });
      return 'planned';
    }
    const connector = connectors.get(app);
    if (!connector || !can(connector, 'disable')) throw ApplicationFailure.create({ type: 'InvalidRequestError', message: `${app} cannot disable accounts`, nonRetryable: true });
    const call = callContext(`${runId}/disable/${orphan.key}`);
    return atBoundary(() =>
      store.step(
        {
          key: call.idempotencyKey,
          intent: { ...base, action: 'step.requested', changes: [change] },
          done: (r: string) => ({ ...base, action: 'step.completed', changes: [{ ...change, outcome: r }] }),
          failed: (err) => ({ ...base, action: 'step.failed', reason: `disableAccount of an orphan failed: ${err instanceof Error ? err.name : 'error'}`, changes: [{ ...change, outcome: 'failed' }] }),
        },
        async () => {
          try {
            return (await connector.disableAccount({ account: byHandle(orphan) }, call)).status;
          } catch (err) {
            if ((err as Error).name === 'NotFoundError') return 'gone' as const;
            throw err;
          }
        },
      ),
    );
  }

  return {
    /**
     * Starts the run's record (a retry is a no-op) and returns the application's settings in force;
     * a quarantined (or held) application's run is recorded as skipped and says why (`skipped`).
     */
    async startReconcileRun(input: StartRunInput): Promise<ReconcileSettings & { policyVersion: string; skipped?: Skipped }> {
      const policy = deps.policy();
      const settings = settingsOf(policy, input.app);
      if (!connectors.has(input.app)) throw ApplicationFailure.create({ type: 'UnknownApplication', message: `no connector serves ${input.app}: nothing to list`, nonRetryable: true });
      await createRun(store.pool, { ...input, policyVersion: policy.version });
      const quarantine = await applicationQuarantine(store.pool, input.app);
      if (!quarantine) return { ...settings, policyVersion: policy.version };
      const block: RemovalBlock = { rule: 'quarantined', reason: `application ${quarantine.state === 'held' ? 'held by an operator' : 'quarantined'}: nothing listed or remedied (provisioner quarantine list)` };
      const counts = Object.fromEntries(driftKinds.map((k) => [k, 0])) as Record<DriftKind, number>;
      await finishRun(store.pool, input.runId, { status: 'skipped', counts, removalsBlocked: [block], remediation: {} });
      logger.warn({ runId: input.runId, app: input.app, state: quarantine.state }, 'reconcile: skipped, the application is quarantined');
      return { ...settings, policyVersion: policy.version, skipped: { block, counts } };
    },

    /**
     * Lists the application's accounts page by page into the store, on the application's queue.
     * Resumes after the last page it stored (a worker lost mid-listing), heartbeating each page.
     */
    async listApplicationAccounts(input: ListingInput): Promise<ListingResult> {
      const { runId, app } = input;
      const connector = connectors.get(app);
      if (!connector || !can(connector, 'list-accounts')) throw ApplicationFailure.create({ type: 'InvalidRequestError', message: `${app} cannot list its accounts`, nonRetryable: true });
      const ctx = Context.current();
      const digest = digests();
      const last = await lastListedPage(store.pool, runId);
      let page = last ? last.pageNo + 1 : 0;
      let accounts = last?.accounts ?? 0;
      let cursor = last ? (last.nextCursor ?? undefined) : undefined;
      let reportedTotal: number | undefined;
      if (last) logger.info({ runId, app, resumeAt: page, attempt: ctx.info.attempt }, 'reconcile: listing resumes after its last stored page');
      if (last && last.nextCursor === null) return { pages: page, accounts, complete: true };
      for (;;) {
        ctx.heartbeat({ page, accounts } satisfies ListingProgress);
        await waitOutPause(app, ctx, { page, accounts });
        const call = callContext(`${runId}/list/${page}`);
        const listed = await atBoundary(() =>
          connector.listAccounts({ ...(cursor !== undefined ? { cursor } : {}), pageSize: input.pageSize }, call).catch(async (err: unknown) => {
            // A Retry-After given to the listing pauses the application for every worker's calls too.
            await deps.pauses.remember(app, err);
            throw err;
          }),
        );
        const stored: StoredAccount[] = [];
        for (const a of listed.items) {
          stored.push(await toStored(app, a, digest, call));
          ctx.heartbeat({ page, accounts: accounts + stored.length } satisfies ListingProgress);
        }
        await storePage(store.pool, { runId, pageNo: page, ...(cursor !== undefined ? { cursor } : {}), ...(listed.next !== undefined ? { nextCursor: listed.next } : {}), accounts: stored });
        accounts += stored.length;
        reportedTotal = listed.total;
        page += 1;
        if (listed.next === undefined) break;
        cursor = listed.next;
        if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
      }
      return { pages: page, accounts, complete: true, ...(reportedTotal !== undefined ? { reportedTotal } : {}) };
    },

    /** Closes the listing: complete (with the application's own count) or failed (why). */
    async recordListingEnd(input: { runId: string; complete: boolean; failure?: string; reportedTotal?: number }): Promise<void> {
      await finishListing(store.pool, input.runId, {
        complete: input.complete,
        ...(input.failure !== undefined ? { failure: input.failure.slice(0, 1000) } : {}),
        ...(input.reportedTotal !== undefined ? { reportedTotal: input.reportedTotal } : {}),
      });
    },

    /**
     * Compares the listing with every identity's desired state: stores the drift, audits each new
     * finding once (and each resolved one), applies the safety rules, and decides per finding what
     * the run does (a dry run decides the same and says `would`).
     */
    async compareApplicationListing(input: { runId: string; app: string; dryRun: boolean; paged?: boolean }): Promise<CompareResult> {
      const { runId, app, dryRun } = input;
      const policy = deps.policy();
      const settings = settingsOf(policy, app);
      const decl = policy.applications.get(app)!;
      const run = await getRun(store.pool, runId);
      if (!run) throw ApplicationFailure.create({ type: 'UnknownRun', message: `no reconciliation run ${runId} in the store`, nonRetryable: true });
      const listed = await readListing(store.pool, runId);
      const previousAccounts = await previousCompleteListing(store.pool, app, runId);
      const blocks = removalBlocks({
        listing: { accounts: run.accounts, complete: run.listingComplete, ...(run.listingFailure ? { failure: run.listingFailure } : {}), ...(run.reportedTotal !== null ? { reportedTotal: run.reportedTotal } : {}), entitlementsUnknown: run.entitlementsUnknown },
        ...(previousAccounts !== undefined ? { previousAccounts } : {}),
        maxShrink: settings.maxShrink,
      });

      const held = new Map<string, string[]>();
      for (const a of listed) if (a.externalId && a.entitlements) held.set(a.externalId.toUpperCase(), a.entitlements);
      const digest = digests();
      const now = new Date().toISOString();
      const desired = [];
      for await (const batch of people(held, app)) desired.push(...desiredAccounts(policy, { app, people: batch, now, digest }));
      const managedEntitlements = new Set(decl.entitlements.map((e) => e.id));
      const findings = classifyDrift({ app, desired, listed, ...(decl.correlation ? { correlation: decl.correlation } : {}), managedEntitlements });
      const decided = decide(findings, settings, blocks, new Map(listed.map((a) => [a.id, a])), dryRun);
      await storeFindings(store.pool, runId, decided.stored);
      if (input.paged) await markWorklist(store.pool, runId, { reevaluate: decided.reevaluate.flatMap((r) => r.keys), disable: decided.disable.map((o) => o.key) });

      let opened = 0;
      let resolved = 0;
      if (!dryRun) {
        const open = await updateOpenFindings(store.pool, { app, runId, findings: decided.stored, complete: run.listingComplete });
        const byKey = new Map(decided.stored.map((f) => [f.key, f]));
        const entries = [
          ...open.opened.map((key) => byKey.get(key)!).map((f) => ({
            actor: RECONCILE_ACTOR,
            action: 'drift.found',
            reason: `${f.kind} in ${app}${f.entitlementId ? ` (${f.entitlementId})` : ''}${f.attribute ? ` (attribute ${f.attribute})` : ''}; remediation: ${f.remediation}`,
            workflowId: runId,
            policyVersion: policy.version,
            ...(f.employeeId ? { subject: { employeeId: f.employeeId } } : {}),
            changes: [{ op: f.kind, app, ...(f.entitlementId ? { entitlement: f.entitlementId } : {}), ...(f.attribute ? { fields: [f.attribute] } : {}), ...(f.employeeId && f.accountId ? { account: f.accountId } : {}) }],
            idempotencyKey: `drift/${app}/${f.key}/found/${runId}`,
          })),
          ...open.resolved.map((r) => ({
            actor: RECONCILE_ACTOR,
            action: 'drift.resolved',
            reason: `${r.kind} in ${app} is no longer found by a complete listing`,
            workflowId: runId,
            policyVersion: policy.version,
            changes: [{ op: r.kind, app }],
            idempotencyKey: `drift/${app}/${r.key}/resolved/${runId}`,
          })),
        ];
        for (let i = 0; i < entries.length; i += AUDIT_PARALLEL) {
          await Promise.all(entries.slice(i, i + AUDIT_PARALLEL).map((e) => store.audit(e)));
          Context.current().heartbeat();
        }
        opened = open.opened.length;
        resolved = open.resolved.length;
      }
      await setRunStatus(store.pool, runId, 'remediating');
      const counts = countByKind(findings);
      logger.info({ runId, app, dryRun, accounts: listed.length, counts, blocks: blocks.map((b) => b.rule), opened, resolved }, 'reconcile: drift classified');
      if (input.paged) return { counts, blocks, worklist: { reevaluate: decided.reevaluate.length, disable: decided.disable.length }, policyVersion: policy.version, opened, resolved };
      return { counts, blocks, reevaluate: decided.reevaluate, disable: decided.disable.map((o) => ({ ...o, ref: orphanRef(o.account.app, o.account.id) })), policyVersion: policy.version, opened, resolved };
    },

    /**
     * Asks the person's identity workflow (started if it is not running) to plan them again: the
     * remediation `fix`. The source `reconcile/<app>` makes the fence count what it removes as
     * the reconciliation's feed; the request id (run and person) makes a retry a no-op.
     */
    async askIdentityToReevaluate(input: { runId: string; app: string; employeeId: string; kinds: DriftKind[] }): Promise<'asked'> {
      await askToReevaluate(input, Context.current().info.taskQueue);
      return 'asked';
    },

    /**
     * Asks the next `limit` people of the run's worklist to re-evaluate (a paged run's remediation
     * `fix`), each taken off the worklist once asked: a retried page asks nobody twice.
     */
    async askIdentitiesToReevaluate(input: ReevaluationPageInput): Promise<{ asked: number; more: boolean }> {
      const { taskQueue } = Context.current().info;
      const people = await pendingReevaluations(store.pool, input.runId, input.limit);
      for (let i = 0; i < people.length; i += ASK_PARALLEL) {
        const batch = people.slice(i, i + ASK_PARALLEL);
        await Promise.all(batch.map((p) => askToReevaluate({ runId: input.runId, app: input.app, employeeId: p.employeeId, kinds: p.kinds }, taskQueue)));
        await clearPending(store.pool, input.runId, batch.flatMap((p) => p.keys));
        Context.current().heartbeat(i + batch.length);
      }
      return { asked: people.length, more: people.length === input.limit };
    },

    /** Records what the run did about findings (after the fence, or a failed disable). */
    async recordRemediation(input: { runId: string; keys: string[]; remediation: string }): Promise<void> {
      await setFindingRemediation(store.pool, input.runId, input.keys, input.remediation.slice(0, 500));
    },

    /**
     * Disables one orphan account (never deletes it), between its audit records; plan-only
     * applications are not called. The account is read again first: one gone or disabled since the
     * listing is not touched, and one that correlates now to a stored identity fails (why, in its message).
     */
    async disableOrphanAccount(input: { runId: string; orphan: OrphanToDisable }): Promise<DisableOutcome> {
      if (!(await deps.modes.isPlanOnly(input.orphan.account.app))) {
        const why = await orphanNoLonger(input.runId, input.orphan);
        if (why?.includes('gone')) return 'gone';
        if (why?.includes('disabled already')) return 'already-in-state';
        if (why) throw ApplicationFailure.create({ type: 'OrphanCorrelates', message: why, nonRetryable: true });
      }
      return disableOrphan(input);
    },

    /**
     * Asks the fence for a page of the run's orphan disables (a paged run): the page is put
     * together from the worklist in the store (a retried ask gets the same page and answer).
     */
    async requestOrphanPagePermit(input: OrphanPermitInput): Promise<{ orphans: number; answer: PermitAnswer }> {
      const { runId, app } = input;
      const orphans = (await orphanPage(store.pool, runId, input.page, input.limit)).filter((o) => o.pending);
      if (orphans.length === 0) return { orphans: 0, answer: { permit: 'allowed' } };
      const answer = await deps.requestFencePermit({
        fenceWorkflowId: input.fenceWorkflowId,
        taskQueue: input.taskQueue,
        request: {
          requestId: orphanPageRequestId(runId, input.page),
          workflowId: runId,
          // Orphans belong to nobody the store knows: the request is the application's.
          employeeId: `reconcile/${app}`,
          source: reconcileSource(app),
          steps: orphans.map((o) => ({ key: `disableAccount/${app}/${orphanRef(app, o.accountId)}`, app, action: 'disableAccount' as const })),
        },
      });
      return { orphans: orphans.length, answer };
    },

    /** Records why a page's orphans left are not disabled now: held by the fence (still to do), or rejected or failed (settled); how many. */
    async recordOrphanPageRemediation(input: { runId: string; page: number; remediation: string; settled: boolean }): Promise<number> {
      return settleOrphanPage(store.pool, input.runId, input.page, input.remediation.slice(0, 500), input.settled);
    },

    /**
     * Disables a page of the run's orphans one after the other, on the application's queue,
     * heartbeating its counts; each orphan leaves the worklist with its outcome, so a retried page
     * goes on with the ones left. A permanent failure is recorded on the orphan and the page goes on.
     */
    async disableOrphanPage(input: OrphanPageInput): Promise<OrphanPageResult> {
      const { runId, app } = input;
      const ctx = Context.current();
      const counts: OrphanPageResult = { disabled: 0, failed: 0, ...(ctx.info.heartbeatDetails as OrphanPageResult | undefined) };
      // Quarantined since the fence was asked: the page's orphans are left as they are, and say why.
      if (await applicationQuarantine(store.pool, app)) return { ...counts, failed: counts.failed + (await settleOrphanPage(store.pool, runId, input.page, 'not disabled: the application is quarantined', true)) };
      const orphans = (await orphanPage(store.pool, runId, input.page, input.limit)).filter((o) => o.pending);
      // One page is one task of the application's rate-limited queue: its calls keep to that rate too.
      const rate = deps.appRate?.(app);
      const gapMs = rate && rate > 0 ? 1000 / rate : 0;
      let last = 0;
      for (const o of orphans) {
        const wait = last + gapMs - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        last = Date.now();
        ctx.heartbeat(counts);
        const orphan: OrphanToDisable = { key: o.key, account: { app, id: o.accountId, externalId: o.externalId ?? '' }, ref: orphanRef(app, o.accountId) };
        try {
          const why = (await deps.modes.isPlanOnly(app)) ? undefined : await orphanNoLonger(runId, orphan);
          if (why) {
            await settleFinding(store.pool, runId, o.key, why);
            continue;
          }
          const outcome = await disableOrphan({ runId, orphan });
          await settleFinding(store.pool, runId, o.key, outcome === 'planned' ? 'planned: the application is plan-only' : `disabled (${outcome})`);
          if (outcome === 'applied' || outcome === 'already-in-state') counts.disabled += 1;
        } catch (err) {
          if (!(err instanceof ApplicationFailure) || !err.nonRetryable) throw err;
          await settleFinding(store.pool, runId, o.key, `disable failed: ${err.message}`.slice(0, 500));
          counts.failed += 1;
        }
        ctx.heartbeat(counts);
        if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
      }
      return counts;
    },

    /** Ends the run with its counts, why its removals stopped, and what it did. */
    async finishReconcileRun(input: FinishRunInput): Promise<void> {
      await finishRun(store.pool, input.runId, { status: input.status, counts: input.counts, removalsBlocked: input.blocks, remediation: input.remediation });
    },
  };
}

export type ReconcileActivities = ReturnType<typeof createReconcileActivities>;

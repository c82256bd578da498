// A reconciliation's remediation a page at a time, on the time-skipping test server with its
// activities stubbed by an in-memory worklist: however much drift the comparison found, the
// workflow's history holds counts and one activity per page, continues as new before it grows,
// asks each person once and disables each orphan once, and ends with the same result as before.
import type { temporal } from '@temporalio/proto';
import { describe, expect, it } from 'vitest';
import type { Activities } from '../../activities/index.js';
import type { ReconcileResult, reconcileApplication } from '../../workflows/reconcile-application.js';
import { MAX_PAGES_PER_RUN, REMEDY_PAGE } from '../../workflows/reconcile/paged-remedy.js';
import { fenceDecision, type FenceDecision } from '../../workflows/fence-messages.js';
import { scenario, until } from './harness.js';
import type { Stubs } from './stub-activities.js';

type A = Activities;
const counts = (people: number, orphans: number) => ({ 'missing-account': people, 'orphan-account': orphans, 'uncorrelated-account': 0, 'missing-entitlement': 0, 'extra-entitlement': 0, 'wrong-state': 0, 'attribute-drift': 0 });

/** The worklist as the store keeps it: people to ask, orphans to disable (put in pages as the fence is asked). */
function stubs(people: number, orphans: number, hold = false) {
  const pendingPeople = Array.from({ length: people }, (_, i) => `E${String(i).padStart(6, '0')}`);
  const pendingOrphans = Array.from({ length: orphans }, (_, i) => `orphan-${i}`);
  const pages = new Map<number, string[]>();
  const asked: string[] = [];
  const disabled: string[] = [];
  const compared: Array<Parameters<A['compareApplicationListing']>[0]> = [];
  const remediations: Array<Parameters<A['recordOrphanPageRemediation']>[0]> = [];
  const activities: Partial<A> = {
    startReconcileRun: async () => ({ pageSize: 100, policyVersion: 'sha256:stub' }) as Awaited<ReturnType<A['startReconcileRun']>>,
    listApplicationAccounts: async () => ({ pages: 7, accounts: 650, complete: true }),
    recordListingEnd: async () => undefined,
    compareApplicationListing: async (input) => {
      compared.push(input);
      return { counts: counts(people, orphans), blocks: [], worklist: { reevaluate: people, disable: orphans }, policyVersion: 'sha256:stub', opened: people + orphans, resolved: 0 };
    },
    askIdentitiesToReevaluate: async ({ limit }) => {
      const page = pendingPeople.splice(0, limit);
      asked.push(...page);
      return { asked: page.length, more: page.length === limit };
    },
    requestOrphanPagePermit: async ({ page, limit }) => {
      if (!pages.has(page)) pages.set(page, pendingOrphans.splice(0, limit));
      const orphans = pages.get(page)!.length;
      return { orphans, answer: hold && orphans > 0 ? { permit: 'held', batchId: `batch-${page}`, reasons: ['source reconcile/chat: too many disables'] } : { permit: 'allowed' } };
    },
    disableOrphanPage: async ({ page }) => {
      disabled.push(...(pages.get(page) ?? []));
      return { disabled: pages.get(page)?.length ?? 0, failed: 0 };
    },
    recordOrphanPageRemediation: async (input) => {
      remediations.push(input);
      return pages.get(input.page)?.length ?? 0;
    },
    finishReconcileRun: async () => undefined,
  };
  return { activities, asked, disabled, compared, remediations };
}

/** Runs one reconciliation of `chat` and reads back each run's history (following continue-as-new). */
async function reconcile(people: number, orphans: number, decide?: FenceDecision['decision']) {
  const s = stubs(people, orphans, decide !== undefined);
  const out = await scenario({ apps: ['chat'], stubs: { activities: s.activities, missing: [] } as unknown as Stubs }, async ({ env, taskQueue }) => {
    const workflowId = `reconcile/chat/${taskQueue}/test`;
    const handle = await env.client.workflow.start<typeof reconcileApplication>('reconcileApplication', { workflowId, taskQueue, args: [{ app: 'chat' }] });
    if (decide) {
      // Each held page waits for the fence's decision, sent as the fence sends it.
      for (let page = 0; page * REMEDY_PAGE < orphans; page++) {
        await until(`page ${page} held`, async () => (s.remediations.some((r) => r.page === page && !r.settled) ? true : undefined));
        await handle.signal(fenceDecision, { batchId: `batch-${page}`, decision: decide, operators: ['E-OPERATOR'] });
      }
    }
    const result: ReconcileResult = await handle.result();
    const histories: number[] = [];
    for (let runId: string | undefined = handle.firstExecutionRunId; runId; ) {
      const events: temporal.api.history.v1.IHistoryEvent[] = (await env.client.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? [];
      histories.push(events.length);
      runId = events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
    }
    return { result, histories };
  });
  return { ...s, ...out };
}

describe('a reconciliation with much drift', () => {
  it('keeps its history to counts and pages: a few hundred drifted people and orphans cost a handful of activities', async () => {
    const { result, histories, asked, disabled, compared } = await reconcile(300, 250);
    expect(compared).toEqual([{ runId: expect.stringMatching(/^reconcile\/chat\//), app: 'chat', dryRun: false, paged: true }]);
    expect(result).toMatchObject({ app: 'chat', dryRun: false, pages: 7, accounts: 650, listingComplete: true, removalsBlocked: [], remediation: { reevaluated: 300, disabled: 250, rejected: 0, failed: 0 } });
    expect(result.counts['missing-account']).toBe(300);
    expect(new Set(asked).size).toBe(300);
    expect(new Set(disabled).size).toBe(250);
    expect(histories).toHaveLength(1);
    // 2 pages of people, 2 pages of orphans (each a permit and a disable) and an empty permit: far from one activity per finding.
    expect(histories[0]).toBeLessThan(100);
  });

  it('continues as new when its pages outgrow one run, carrying its phase, page and counts', async () => {
    const people = REMEDY_PAGE * MAX_PAGES_PER_RUN + 123;
    const orphans = REMEDY_PAGE * 20 + 7;
    const { result, histories, asked, disabled } = await reconcile(people, orphans);
    expect(result.remediation).toEqual({ reevaluated: people, disabled: orphans, rejected: 0, failed: 0 });
    expect(asked).toHaveLength(people);
    expect(new Set(asked).size).toBe(people);
    expect(disabled).toHaveLength(orphans);
    expect(histories.length).toBeGreaterThan(1);
    for (const h of histories) expect(h).toBeLessThan(MAX_PAGES_PER_RUN * 14 + 60);
  });

  it.each([
    { decision: 'released' as const, disabled: 250, rejected: 0 },
    { decision: 'rejected' as const, disabled: 0, rejected: 250 },
  ])('a page the fence holds waits for its decision: $decision', async ({ decision, disabled, rejected }) => {
    const out = await reconcile(10, 250, decision);
    expect(out.result.remediation).toEqual({ reevaluated: 10, disabled, rejected, failed: 0 });
    expect(out.remediations.filter((r) => !r.settled).map((r) => r.page)).toEqual([0, 1]);
    expect(out.remediations.filter((r) => r.settled).map((r) => r.remediation)).toEqual(decision === 'rejected' ? ['rejected by the fence: batch batch-0 (by E-OPERATOR)', 'rejected by the fence: batch batch-1 (by E-OPERATOR)'] : []);
    expect(out.disabled).toHaveLength(disabled);
  });
});

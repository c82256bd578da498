// `provisioner plan <event-file>`: a dry run. Shows the plan an HR event would produce: the
// event's snapshot evaluated by the policy against what each application reports the person has
// (reads only), as the ordered steps the identity workflow would run. Nothing is published,
// recorded or written. Non-birthright grants (access requests) live in the store and are not read
// here: a dry run plans from birthright rules and what the applications report.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { EntitlementCatalog } from '../../activities/entitlement-catalog.js';
import { readActualAccounts } from '../../activities/actual-accounts.js';
import { readManagerAccounts } from '../../activities/manager-accounts.js';
import { planFor } from '../../activities/plan.js';
import type { Connector } from '../../connectors/contract.js';
import { createLogger } from '../../observability/logger.js';
import type { CompiledPolicy } from '../../policy/compile.js';
import type { Identity } from '../../policy/identity.js';
import type { Plan } from '../../policy/planner.js';
import { connectorsForPolicy } from '../../runtime/connectors.js';
import { loadPolicyOrThrow } from '../../runtime/worker.js';
import { loadConnectorsFile } from '../../connectors/config.js';
import { loadConfig } from '../../schemas/config.js';
import { parseHrEvent, type HrEvent } from '../../schemas/events.js';

export type PlanDeps = { policy: CompiledPolicy; connectors: ReadonlyMap<string, Connector>; now?: string };

/** The events of a file: one CloudEvent (JSON) or one per line (JSONL). */
export function readEvents(text: string): HrEvent[] {
  const trimmed = text.trim();
  const chunks = trimmed.startsWith('{') && !trimmed.includes('\n{') ? [trimmed] : trimmed.split('\n').filter((l) => l.trim() !== '');
  return chunks.map((chunk, i) => {
    const parsed = parseHrEvent(chunk);
    if (!parsed.ok) throw new Error(`event ${i + 1}: ${parsed.reason}`);
    return parsed.value;
  });
}

/** The plan the identity workflow would make for this event now (the planChange activity's planFor). Reads the applications; writes nothing. */
export async function planEvent(deps: PlanDeps, event: HrEvent): Promise<Plan> {
  const controller = new AbortController();
  const call = { idempotencyKey: `dry-run/${event.id}`, correlationId: `dry-run/${event.id}`, signal: controller.signal };
  const actual = await readActualAccounts(deps.policy, deps.connectors, new EntitlementCatalog(deps.connectors), event.data.employeeId, call);
  // The manager's accounts, as the planChange activity reads them: the dry run plans manager as the workflow would.
  const managerAccounts = await readManagerAccounts(deps.policy, deps.connectors, event.data as Identity, () => call);
  return planFor(deps.policy, { identity: event.data as Identity, actual, now: deps.now ?? new Date().toISOString(), served: (app) => deps.connectors.has(app), managerAccounts });
}

export function formatPlan(event: HrEvent, plan: Plan, planOnly: readonly string[] = []): string {
  const lines = [`${event.type} ${event.data.employeeId} (sequence ${event.data.sequence}): ${plan.kind}, ${plan.steps.length} step(s), policy ${plan.policyVersion}`];
  plan.steps.forEach((s, i) => {
    const notes = [
      s.fenced ? 'fenced' : '',
      s.notBefore ? `not before ${s.notBefore}${s.after ? ` (${s.after})` : ''}` : '',
      s.active === false ? 'made disabled' : '',
      s.untilApproved ? 'made with the first approved grant' : '',
      s.approvals?.length ? `needs approval ${s.approvals.join(', ')}` : '',
      planOnly.includes(s.app) ? 'plan-only: not written' : '',
      s.actionRequired ? `action-required: ${s.actionRequired}` : '',
    ].filter(Boolean);
    lines.push(`  ${String(i + 1).padStart(2)}. ${s.action} ${s.app}${s.entitlementId ? `:${s.entitlementId}` : ''}${s.account ? ` (account ${s.account.id})` : ''}: ${s.reason}${notes.length > 0 ? ` [${notes.join('; ')}]` : ''}`);
    // The person's own values: an operator's dry run shows them (logs and audit records never do).
    for (const [name, c] of Object.entries(s.attributes ?? {})) lines.push(`        ${name}: ${JSON.stringify(c.from)} → ${JSON.stringify(c.to)}`);
  });
  for (const w of plan.withheld) lines.push(`  withheld ${w.entitlement}: ${w.reason}${w.detail ? ` (${w.detail})` : ''}`);
  for (const u of plan.unmanaged) lines.push(`  unmanaged ${u.app}:${u.entitlementId} (left alone)`);
  for (const u of plan.unread ?? []) lines.push(`  unread ${u.app}: ${u.reason} (its revokes are not planned; the change would end action-required)`);
  if (plan.wakeAt) lines.push(`  wake ${plan.wakeAt}: ${plan.wakeReason ?? ''}`);
  return lines.join('\n');
}

export function registerPlanCommands(program: Command): void {
  program
    .command('plan')
    .description('dry run: show the ordered steps an HR event would produce (reads the applications, writes and publishes nothing)')
    .argument('<event-file>', 'a CloudEvent as JSON, or JSONL with one event per line')
    .option('--json', 'the plans as JSON')
    .action(async (file: string, opts: { json?: boolean }) => {
      const cfg = loadConfig();
      const events = readEvents(readFileSync(file, 'utf8'));
      const policy = loadPolicyOrThrow(cfg.policy.dir);
      const logger = createLogger({ level: 'warn', name: 'plan' });
      const { connectors, missing } = connectorsForPolicy(cfg, policy, loadConnectorsFile(cfg.connectors.file), logger);
      if (missing.length > 0) process.stderr.write(`plan: no connector for ${missing.join(', ')}: their steps are not planned\n`);
      try {
        for (const event of events) {
          const plan = await planEvent({ policy, connectors }, event);
          process.stdout.write(`${opts.json ? JSON.stringify(plan) : formatPlan(event, plan, cfg.safety.planOnly)}\n`);
        }
      } finally {
        for (const c of connectors.values()) await c.close?.().catch(() => undefined);
      }
    });
}

// `provisioner approvals [approvalId] | approve <approvalId> | reject <approvalId> | request <ticketId>`:
// approvals and access requests through the HTTP API, as the caller whose token is used
// (docs/architecture.md#approvals, #security). The approver is always that caller: there is no option to name one. A
// refusal (the requester, the beneficiary, not an approver of it, already decided) prints the API's
// reason and exits non-zero; the API has audited it.
import type { Command } from 'commander';
import type { ApprovalView } from '../../policy/approval-chain.js';
import type { DecisionResult, RequestState } from '../../workflows/approval-messages.js';
import { loadConfig } from '../../schemas/config.js';
import { apiClientFromConfig, segment, TOKEN_FILE_OPTION, type ApiClient } from '../api-client.js';
import { say } from '../say.js';

/**
 * An approval as the API lists it: the store's record (app, entitlementId, approverRule) or the
 * workflow's view (entitlement `app:id`, rule); the formatter takes either.
 */
export type ApprovalLine = {
  approvalId: string;
  beneficiaryId?: string | null;
  requesterId?: string | null;
  ticketId?: string | null;
  entitlement?: string | null;
  app?: string | null;
  entitlementId?: string | null;
  rule?: string | null;
  approverRule?: string | null;
  stage?: number | null;
  status?: string | null;
  deadline?: string | Date | null;
};

const entitlementOf = (a: ApprovalLine) => a.entitlement ?? (a.app && a.entitlementId ? `${a.app}:${a.entitlementId}` : (a.entitlementId ?? '-'));
const ruleOf = (a: ApprovalLine) => a.rule ?? a.approverRule ?? '-';
/** Stages are counted from 1 for people: the approval id's last number (the workflow's view counts from 0). */
const stageOf = (a: ApprovalLine) => /\.(\d+)$/.exec(a.approvalId)?.[1] ?? (typeof a.stage === 'number' ? String(a.stage + 1) : '-');
const deadlineOf = (a: ApprovalLine) => (a.deadline ? new Date(a.deadline).toISOString().replace(/\.\d{3}Z$/, 'Z') : '-');

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)];
}

/** The approvals list for people: one line each, with what to type next. */
export function formatApprovals(approvals: ApprovalLine[], scope: 'mine' | 'all'): string {
  if (approvals.length === 0) return scope === 'all' ? 'no approval is pending' : 'no approval is waiting for you';
  const lines = table(
    ['APPROVAL', 'BENEFICIARY', 'ENTITLEMENT', 'RULE', 'STAGE', 'DEADLINE'],
    approvals.map((a) => [a.approvalId, a.beneficiaryId ?? '-', entitlementOf(a), ruleOf(a), stageOf(a), deadlineOf(a)]),
  );
  lines.push('', `${approvals.length} pending; decide with \`provisioner approve <approvalId> [--comment <text>]\` or \`provisioner reject <approvalId> [--comment <text>]\``);
  return lines.join('\n');
}

/** A vote as the workflow shows it (`at`) or the store keeps it (`decidedAt`; the approver null once purged). */
type Vote = { approverId: string | null; decision: string; at?: string | Date; decidedAt?: string | Date; channel?: string; comment?: string };
type ApprovalDetail = {
  approvalId: string;
  workflowId: string | null;
  record: (ApprovalLine & { votes?: Vote[] }) | null;
  live: ApprovalView | null;
  liveStatus: string;
};

/** One approval: what it is, its status and votes (from the workflow when it answers, else the store). */
export function formatApprovalDetail(detail: ApprovalDetail): string {
  const a: ApprovalLine = { ...(detail.record ?? {}), ...(detail.live ?? {}), approvalId: detail.approvalId };
  const votes: Vote[] = detail.live?.votes ?? detail.record?.votes ?? [];
  const lines = [
    `approval ${detail.approvalId}: ${a.status ?? 'unknown'}${detail.live?.reason ? ` (${detail.live.reason})` : ''}`,
    `  beneficiary ${a.beneficiaryId ?? '-'}${a.requesterId ? `, requested by ${a.requesterId}` : ''}`,
    `  entitlement ${entitlementOf(a)}, rule ${ruleOf(a)}, stage ${stageOf(a)}, deadline ${deadlineOf(a)}`,
  ];
  if (detail.live) lines.push(`  ${detail.live.mode}, ${detail.live.required} approval(s) needed; may decide: ${detail.live.eligible.join(', ') || 'nobody'}`);
  for (const v of votes) {
    const at = v.at ?? v.decidedAt;
    lines.push(`  ${v.decision} by ${v.approverId ?? '(purged)'}${at ? ` at ${new Date(at).toISOString()}` : ''}${v.channel ? ` via ${v.channel}` : ''}${v.comment ? `: ${v.comment}` : ''}`);
  }
  if (votes.length === 0) lines.push('  no decision yet');
  if (!detail.live) lines.push(`  (the workflow ${detail.workflowId ?? '-'} did not answer: ${detail.liveStatus}; shown from the store)`);
  return lines.join('\n');
}

/** What a decision did, in a sentence. */
export function formatDecision(kind: 'approve' | 'reject', d: DecisionResult): string {
  const verb = kind === 'approve' ? 'approved' : 'rejected';
  return `${verb} ${d.approvalId}: it is now ${d.status} (${d.approvals} of ${d.required} approval(s)); the request is ${d.gateStatus}`;
}

/** An access request: its status, reasons and approval chain. */
export function formatRequest(s: RequestState): string {
  const lines = [`ticket ${s.ticketId}: ${s.status}`, `  beneficiary ${s.beneficiaryId}, entitlement ${s.entitlement}${s.expiresAt ? `, until ${s.expiresAt}` : ''}`];
  for (const r of s.reasons) lines.push(`  reason: ${r}`);
  if (s.approvals.length === 0) lines.push('  no approval needed');
  for (const a of s.approvals) {
    const votes = a.votes.map((v) => `${v.decision} by ${v.approverId}`).join(', ');
    lines.push(`  ${a.approvalId}  ${a.status.padEnd(9)} rule ${a.rule}, stage ${a.stage + 1}, ${a.mode}, deadline ${a.deadline}${votes ? `; ${votes}` : ''}`);
    if (a.status === 'pending') lines.push(`    may decide: ${a.eligible.join(', ') || 'nobody'}`);
  }
  return lines.join('\n');
}

type Deps = { client?: (opts: { tokenFile?: string }) => ApiClient };

export function registerApprovalCommands(program: Command, deps: Deps = {}): void {
  const clientFor = deps.client ?? ((opts: { tokenFile?: string }) => apiClientFromConfig(loadConfig(), opts));

  program
    .command('approvals')
    .description('approvals waiting for you (the caller of your API token), or one approval with its votes')
    .argument('[approvalId]', 'show this approval: what it grants, its status and who decided')
    .option('--all', 'every pending approval, not only yours (roles auditor, admin)')
    .option('--json', 'machine-readable output')
    .option(...TOKEN_FILE_OPTION)
    .action(async (approvalId: string | undefined, opts: { all?: boolean; json?: boolean; tokenFile?: string }) => {
      const api = clientFor(opts);
      if (approvalId) {
        const detail = await api.get<ApprovalDetail>(`/approvals/${segment(approvalId)}`);
        return say(opts.json ? JSON.stringify(detail, null, 2) : formatApprovalDetail(detail));
      }
      const list = await api.get<{ scope: 'mine' | 'all'; approvals: ApprovalLine[] }>(opts.all ? '/approvals?scope=all' : '/approvals');
      say(opts.json ? JSON.stringify(list, null, 2) : formatApprovals(list.approvals, list.scope));
    });

  for (const kind of ['approve', 'reject'] as const) {
    program
      .command(kind)
      .description(`${kind} an approval as yourself (the caller of your API token); the requester and the beneficiary are refused`)
      .argument('<approvalId>', 'e.g. req-T1001.1.1 (see provisioner approvals)')
      .option('--comment <text>', 'why (at most 2000 characters; kept sealed with the approval)')
      .option('--json', 'machine-readable output')
      .option(...TOKEN_FILE_OPTION)
      .action(async (approvalId: string, opts: { comment?: string; json?: boolean; tokenFile?: string }) => {
        const api = clientFor(opts);
        const { decision } = await api.post<{ decision: DecisionResult }>(`/approvals/${segment(approvalId)}/${kind}`, opts.comment ? { comment: opts.comment } : {});
        say(opts.json ? JSON.stringify(decision, null, 2) : formatDecision(kind, decision));
      });
  }

  program
    .command('request')
    .description("an access request's state: its status, reasons and approval chain")
    .argument('<ticketId>', 'the ITSM ticket id')
    .option('--json', 'machine-readable output')
    .option(...TOKEN_FILE_OPTION)
    .action(async (ticketId: string, opts: { json?: boolean; tokenFile?: string }) => {
      const { state } = await clientFor(opts).get<{ state: RequestState }>(`/requests/${segment(ticketId)}`);
      say(opts.json ? JSON.stringify(state, null, 2) : formatRequest(state));
    });
}

// Least privilege on hire: an account whose every entitlement still waits for approval is not made
// yet. Its ensureAccount is marked `untilApproved`: the identity workflow keeps it with the
// application's approval gates and applies it just before the first grant its approvers approve;
// when every gate is rejected, no account is ever made. An application with one grant that needs
// no approval (or no grant at all: the account is what is wanted) makes its account at once.
import type { PlanStep } from './planner.js';

/** The steps with each new account that only gated grants need marked `untilApproved` (and no other marked). Pure. */
export function holdAccountsForApprovals<S extends PlanStep>(steps: S[]): S[] {
  const grants = new Map<string, { gated: number; open: number }>();
  for (const s of steps) {
    if (s.action !== 'grant') continue;
    const g = grants.get(s.app) ?? { gated: 0, open: 0 };
    if ((s.approvals?.length ?? 0) > 0) g.gated += 1;
    else g.open += 1;
    grants.set(s.app, g);
  }
  return steps.map((s) => {
    if (s.action !== 'ensureAccount') return s;
    const g = grants.get(s.app);
    const hold = g !== undefined && g.gated > 0 && g.open === 0;
    const { untilApproved: _was, ...rest } = s;
    return (hold ? { ...rest, untilApproved: true } : rest) as S;
  });
}

// The `approve` / `reject` updates of a workflow that holds approval gates (the access request
// workflow, the identity workflow): a validator that refuses before anything enters history, and a
// handler that takes the decision. The workflow's loop records what the gates did.
import { ApplicationFailure, setHandler } from '@temporalio/workflow';
import { approvalsOf, decide, refusalOf, viewOf, type Gate, type Refusal } from '../policy/approval-chain.js';
import { APPROVAL_REFUSED, approve, getApprovals, reject, type DecisionRequest, type DecisionResult } from './approval-messages.js';

function refuse(r: Refusal): never {
  throw ApplicationFailure.create({ type: APPROVAL_REFUSED, message: r.message, details: [{ code: r.code }], nonRetryable: true });
}

/** Registers approve / reject / getApprovals over the gates `gates()` returns at the time of the call. */
export function handleApprovals(gates: () => Gate[], closed: () => ReturnType<typeof viewOf> = () => []): void {
  const gateOf = (approvalId: string) => gates().find((g) => g.approvals.some((a) => a.approvalId === approvalId));
  const validator = (decision: 'approved' | 'rejected') => (req: DecisionRequest) => {
    const gate = gateOf(req.approvalId);
    if (!gate) refuse({ code: 'unknown-approval', message: `no approval ${req.approvalId} is held here` });
    const refusal = refusalOf(gate, { approvalId: req.approvalId, approverId: req.approverId, decision });
    if (refusal) refuse(refusal);
  };
  const handler = (decision: 'approved' | 'rejected') => (req: DecisionRequest): DecisionResult => {
    const gate = gateOf(req.approvalId)!;
    const a = decide(gate, { ...req, decision }, Date.now());
    return { approvalId: a.approvalId, status: a.status, approvals: approvalsOf(a), required: a.required, gateStatus: gate.status };
  };
  setHandler(approve, handler('approved'), { validator: validator('approved') });
  setHandler(reject, handler('rejected'), { validator: validator('rejected') });
  setHandler(getApprovals, () => [...closed(), ...gates().flatMap(viewOf)]);
}

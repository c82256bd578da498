// The policy engine's public face: load (validate, compile), evaluate, plan, explain, diff.
export { loadPolicy, loadPolicyDir, readPolicyDir, PolicyDirError, type LoadResult } from './loader.js';
export type { CompiledPolicy } from './compile.js';
export type { Problem } from './problems.js';
export { formatProblem } from './problems.js';
export { identitySchema, type Identity } from './identity.js';
export { evaluateIdentity, type DesiredAccess, type EvaluateInput, type Grant } from './evaluator.js';
export { planChanges, planIdentity, type ActualAccount, type Plan, type PlanInput, type PlanStep } from './planner.js';
export { explainAccess, formatExplanation } from './explain.js';
export { diffPolicies, formatDiff, type PolicyDiff } from './diff.js';
export { fenceLimit, fenceWindowMs, thresholdFor } from './fencing.js';
export { addDuration, durationMs, parseDuration } from '../schemas/durations.js';
export type { ApprovalNeed, ResolvedApprover } from './approvals.js';
export { approverSlot, chainOf, SECURITY_GROUP } from './approvals.js';
export { approvalChainsFor, assessAccessRequest, resolveChain, type AccessAssessment, type AccessRequest, type AssessInput, type ChainInput } from './access-requests.js';

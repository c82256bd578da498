// Planning: the steps that converge a person to the desired state of a snapshot.
// Until the policy engine lands, every configured app is a birthright app for an active worker.
import { createHash } from 'node:crypto';
import type { WorkerSnapshot } from '../schemas/events.js';

export type PlannedStep = { app: string; action: 'ensureAccount' };
export type Plan = { policyVersion: string; steps: PlannedStep[]; reason?: string };

export function policyVersionOf(appNames: string[]): string {
  return `apps-${createHash('sha256').update([...appNames].sort().join('\n')).digest('hex').slice(0, 12)}`;
}

export function planForSnapshot(snapshot: WorkerSnapshot, appNames: string[]): Plan {
  const policyVersion = policyVersionOf(appNames);
  if (snapshot.status !== 'active' && snapshot.status !== 'pre-hire') {
    return { policyVersion, steps: [], reason: `status ${snapshot.status} is handled by the lifecycle engine (not yet built)` };
  }
  if (!snapshot.givenName || !snapshot.familyName || !snapshot.email) {
    return { policyVersion, steps: [], reason: 'the snapshot lacks givenName, familyName or email' };
  }
  return { policyVersion, steps: appNames.map((app) => ({ app, action: 'ensureAccount' as const })) };
}

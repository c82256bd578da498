// An HR snapshot whose sequence jumped too far ahead (policy/sequence-jump.ts, decided by
// `preparePlan`): held for an operator, nothing applied and the person not frozen (later events
// with ordinary sequences still apply). `provisioner identity resequence` accepts it as the new
// baseline after an HRIS renumbering.
import type { HrEventType } from '../../schemas/events.js';
import { converge } from './converge.js';
import { finish } from './outcomes.js';
import { heldView, type Change, type Identity } from './state.js';

/** Holds the change's snapshot for an operator; its outcome says why and what to do. */
export async function holdSnapshot(id: Identity, change: Change, reason: string): Promise<void> {
  const { state } = id;
  const snapshot = change.snapshot!;
  id.held = { eventId: change.eventId, type: change.eventType as HrEventType, source: change.source, time: new Date().toISOString(), snapshot, reason };
  state.held = heldView(id.held);
  await finish(id, change, { status: 'action-required', policyVersion: 'n/a', steps: [], reason }, { applied: false });
}

/** An operator accepted the held snapshot: it is converged with its jump allowed and becomes the applied sequence. */
export async function resequence(id: Identity): Promise<void> {
  id.resequenceRequested = false;
  const held = id.held;
  if (!held) return;
  id.held = undefined;
  delete id.state.held;
  const change: Change = { changeId: `${held.eventId}/resequenced`, eventId: held.eventId, eventType: held.type, source: held.source, sequence: held.snapshot.sequence, snapshot: held.snapshot };
  await converge(id, change, { acceptSequenceJump: true });
}

// Messages of the fence (docs/architecture.md#fence), shared by the fence workflow, the identity
// workflow, the activity that asks for permits, the CLI and the tests. Names are permanent.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { BatchDecision, FenceBatch, FenceDecision, FenceState, PermitAnswer, PermitRequest } from '../schemas/fence.js';

/** One fence per deployment (per base task queue): `fence/<taskQueue>`. */
export const fenceWorkflowId = (taskQueue: string) => `fence/${taskQueue}`;

// The data the messages carry lives in schemas/fence.ts (the store counts and holds with it too).
export { scopeKey } from '../schemas/fence.js';
export type { BatchDecision, FenceBatch, FenceDecision, FenceState, FencedStep, HeldRequest, PermitAnswer, PermitRequest } from '../schemas/fence.js';

/** Asked by the identity workflows (through the requestFencePermit activity, update-with-start). */
export const requestPermit = defineUpdate<PermitAnswer, [PermitRequest]>('requestPermit');
export const releaseBatch = defineUpdate<FenceBatch, [BatchDecision]>('releaseBatch');
export const rejectBatch = defineUpdate<FenceBatch, [BatchDecision]>('rejectBatch');
/** A held request that no longer needs its permit (its change was superseded by a termination). */
export const permitWithdrawn = defineSignal<[{ requestId: string }]>('permitWithdrawn');
export const getFenceState = defineQuery<FenceState>('getFenceState');

/** Sent by the fence to each held identity workflow when its batch is decided. */
export const fenceDecision = defineSignal<[FenceDecision]>('fenceDecision');

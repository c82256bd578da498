// Which connector failures count toward an application's quarantine, and the settings that apply
// to it: the policy's top-level `quarantine` with the application's own fields over it.
import { ApplicationFailure } from '@temporalio/common';
import { ConnectorError } from '../connectors/errors.js';
import { durationMs } from '../schemas/durations.js';
import type { PolicyModel } from '../schemas/policy.js';

export type QuarantineSettings = { failures: number; window: string; windowMs: number; probeEvery: string; probeEveryMs: number };

/** The application's settings: its own fields, else the policy's defaults. */
export function quarantineSettings(model: Pick<PolicyModel, 'quarantine' | 'applications'>, app: string): QuarantineSettings {
  const own = model.applications.find((a) => a.id === app)?.quarantine ?? {};
  const failures = own.failures ?? model.quarantine.failures;
  const window = own.window ?? model.quarantine.window;
  const probeEvery = own.probeEvery ?? model.quarantine.probeEvery;
  return { failures, window, windowMs: durationMs(window), probeEvery, probeEveryMs: durationMs(probeEvery) };
}

/**
 * Whether a connector call's failure says the application is in trouble (and counts toward its
 * quarantine): a retryable one (network, 5xx, 429, timeouts), as a ConnectorError or as the failure
 * the activity boundary made of it. A 400 or a 404 for one person, credentials and programmer
 * errors do not: they are about the request, not the application's health.
 */
export function countsTowardQuarantine(err: unknown): boolean {
  if (err instanceof ConnectorError) return err.retryable;
  return err instanceof ApplicationFailure && !err.nonRetryable && err.type === 'TransientError';
}

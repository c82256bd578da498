// Quarantine of failing applications (docs: README "Quarantine"): past `failures` retryable
// connector failures in `window`, an application is quarantined: its steps wait instead of burning
// retries, and a probe reads it every `probeEvery` until it answers again. The top-level section
// is the default; `applications[].quarantine` overrides it per application, field by field.
import { z } from 'zod';
import { durationSchema } from './duration-schema.js';

const failures = z.number().int('failures is a whole number of failed calls').min(1, 'failures is 1 or more failed calls');

export const quarantineSchema = z.strictObject({
  /** Retryable connector failures (network, 5xx, 429, timeouts) in `window` that quarantine the application. */
  failures: failures.default(20),
  /** The sliding window the failures are counted in. */
  window: durationSchema.default('PT5M'),
  /** How often the probe reads a quarantined application (one cheap read); a success releases it. */
  probeEvery: durationSchema.default('PT1M'),
});
export type Quarantine = z.infer<typeof quarantineSchema>;

/** An application's own settings: each field absent takes the top-level section's. */
export const applicationQuarantineSchema = z.strictObject({
  failures: failures.optional(),
  window: durationSchema.optional(),
  probeEvery: durationSchema.optional(),
});
export type ApplicationQuarantine = z.infer<typeof applicationQuarantineSchema>;

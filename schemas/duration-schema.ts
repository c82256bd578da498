// The policy's duration field, in its own module so the policy's section files (schemas/quarantine.ts)
// and schemas/policy.ts share it without importing each other.
import { z } from 'zod';
import { DURATION_HINT, isDuration, isWithinMaxDuration, MAX_DURATION_HINT } from './durations.js';

/** An ISO 8601 duration that parses (P7D, PT15M, P1Y6M, P2W), of at most MAX_DURATION. */
export const durationSchema = z.string().refine(isDuration, { message: DURATION_HINT }).refine(isWithinMaxDuration, { message: MAX_DURATION_HINT });

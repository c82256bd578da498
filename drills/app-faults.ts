// A drill app's faults over its /admin API (targets/admin.ts): set them, read what fired. Setting
// faults restarts the app's fault counters, so a scenario that changes faults in phases reads the
// counters before each change and adds them up (`FaultTally`; what fires between that read and the
// change, a request or two, is not counted).
import { z } from 'zod';
import type { Faults } from '../targets/apps-file.js';
import type { DrillApp } from './drill-pipeline.js';

const viewSchema = z.object({
  injected: z.object({ delayed: z.number(), rateLimited: z.number(), failed: z.number(), dropped: z.number(), refused: z.number(), lost: z.number() }),
  retryAfter: z.object({ given: z.number(), breaches: z.number(), breachingCallers: z.array(z.string()), duringAnyRetryAfter: z.number(), earliestBreachMs: z.number() }),
});

export type AppFaultsView = z.infer<typeof viewSchema>;
export type FaultTally = AppFaultsView['injected'];

async function admin(app: DrillApp, method: 'GET' | 'PUT' | 'DELETE', body?: Faults): Promise<AppFaultsView> {
  const res = await fetch(`${app.app.url}/admin/faults`, {
    method,
    headers: { authorization: `Bearer ${app.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  if (!res.ok) throw new Error(`${app.name}: ${method} /admin/faults answered ${res.status}`);
  return viewSchema.parse(await res.json());
}

export const readFaults = (app: DrillApp): Promise<AppFaultsView> => admin(app, 'GET');

/** Replaces the app's faults (none: `{}`), adding what the previous ones fired to `tally`. */
export async function setFaults(app: DrillApp, faults: Faults, tally: FaultTally): Promise<void> {
  const before = await readFaults(app);
  for (const k of Object.keys(tally) as Array<keyof FaultTally>) tally[k] += before.injected[k];
  await admin(app, 'PUT', faults);
}

export const emptyTally = (): FaultTally => ({ delayed: 0, rateLimited: 0, failed: 0, dropped: 0, refused: 0, lost: 0 });

// The task queues of the connector activities: one per application, `<baseQueue>-app-<app>`, and
// its urgent twin for the steps that cut access (leavers first). The one namer, shared by the
// workflows that schedule on these queues and the runtime that polls them (runtime/app-activity-
// workers.ts); workflow-safe (no Node.js imports). The names are part of the deployment contract:
// a worker of an older build polls the same names.

/** The task queue of one application's connector activities (rate-limited per application). */
export function appTaskQueue(baseQueue: string, app: string): string {
  // The policy's application ids (schemas/policy.ts) always pass: this catches a programmer error.
  if (!/^[a-z][a-z0-9-]{0,62}$/.test(app)) throw new RangeError(`not an application name: ${JSON.stringify(app)}`);
  return `${baseQueue}-app-${app}`;
}

/** The task queue of one application's urgent steps: polled by the same app worker, with its own slots and rate. */
export function urgentAppTaskQueue(baseQueue: string, app: string): string {
  return `${appTaskQueue(baseQueue, app)}-urgent`;
}

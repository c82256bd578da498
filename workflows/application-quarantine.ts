// The probe of one quarantined application, `quarantine/<app>`: one per application across every
// worker (started with USE_EXISTING by whoever finds the application quarantined). It reads the
// application every `probeEvery` (one cheap read on its own queue); the read that succeeds
// releases a quarantined application (audited, actor system:probe) and wakes the workflows waiting
// for it. A held application is probed but only an operator releases it; the probe ends once the
// application is out of quarantine, however that happened, and an operator's release ends it at once
// (it may sleep through a Retry-After pause the release lifted).
import { continueAsNew, proxyActivities, sleep, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { ApplicationQuarantineInput } from './messages.js';
import { appTaskQueue } from './task-queues.js';

const PROBES_PER_RUN = 500;

export async function applicationQuarantine(input: ApplicationQuarantineInput): Promise<void> {
  const { probeApplication } = proxyActivities<Activities>({
    taskQueue: appTaskQueue(workflowInfo().taskQueue, input.app),
    startToCloseTimeout: '30 seconds',
    // The probe's own read never throws for the application's trouble: only the store's is retried here.
    retry: { initialInterval: '1 second', maximumInterval: '10 seconds', maximumAttempts: 5 },
    summary: `${input.app}: probe (quarantined)`,
  });
  let every = input.probeEveryMs;
  for (let i = 0; i < PROBES_PER_RUN; i++) {
    await sleep(every);
    const probe = await probeApplication({ app: input.app });
    if (probe.state === 'released') return;
    every = probe.probeEveryMs;
  }
  await continueAsNew<typeof applicationQuarantine>({ app: input.app, probeEveryMs: every });
}

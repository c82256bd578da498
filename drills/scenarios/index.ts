// The drills `provisioner drill list | run | all` knows, in the order `all` runs them.
import type { Scenario } from '../scenario.js';
import { approvals } from './approvals.js';
import { auditTamper } from './audit-tamper.js';
import { brokerKill } from './broker-kill.js';
import { massTermination } from './mass-termination.js';
import { workerKill } from './worker-kill.js';
import { ingressKill } from './ingress-kill.js';
import { temporalRestart } from './temporal-restart.js';
import { postgresRestart } from './postgres-restart.js';
import { scimOutage } from './scim-outage.js';
import { scimDrop } from './scim-drop.js';
import { poisonStorm } from './poison-storm.js';
import { leaverSurge } from './leaver-surge.js';
import { slapdDown } from './slapd-down.js';
import { sagaUndoKill } from './saga-undo-kill.js';

export const scenarios: readonly Scenario[] = [workerKill, ingressKill, massTermination, auditTamper, brokerKill, temporalRestart, postgresRestart, approvals, scimOutage, scimDrop, poisonStorm, leaverSurge, slapdDown, sagaUndoKill];

export function scenarioNamed(name: string): Scenario {
  const found = scenarios.find((s) => s.name === name);
  if (!found) throw new Error(`no drill named ${name} (there are: ${scenarios.map((s) => s.name).join(', ')})`);
  return found;
}

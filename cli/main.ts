// The `provisioner` command line: one sub-command per operational task.
import { Command } from 'commander';
import { registerApiCommands } from './commands/api.js';
import { registerAppsCommands } from './commands/apps.js';
import { registerApprovalCommands } from './commands/approvals.js';
import { registerAuditCommands } from './commands/audit.js';
import { registerConfigCommands } from './commands/config.js';
import { registerDemoCommands } from './commands/demo.js';
import { registerDrillCommands } from './commands/drill.js';
import { registerEntitlementsCommands } from './commands/entitlements.js';
import { registerEventCommands } from './commands/events.js';
import { registerFenceCommands } from './commands/fence.js';
import { registerQuarantineCommands } from './commands/quarantine.js';
import { registerIdentityCommands } from './commands/identity.js';
import { registerLoginCommands } from './commands/login.js';
import { registerPlanCommands } from './commands/plan.js';
import { registerPolicyCommands } from './commands/policy.js';
import { registerProcessCommands } from './commands/processes.js';
import { registerStackCommands } from './commands/stack.js';
import { registerStatusCommands } from './commands/status.js';
import { registerStoreCommands } from './commands/store.js';
import { registerSweepCommands } from './commands/sweep.js';
import { registerReconcileCommands } from './commands/reconcile.js';
import { endQuietlyOnClosedOutput, exitWithError } from './failure.js';

const program = new Command()
  .name('provisioner')
  .description('Event-driven user provisioning: HR and ITSM events on Kafka → Temporal workflows → SCIM and LDAP accounts.')
  .showHelpAfterError();

registerStackCommands(program);
registerAppsCommands(program);
registerProcessCommands(program);
registerEventCommands(program);
registerDemoCommands(program);
registerPolicyCommands(program);
registerEntitlementsCommands(program);
registerAuditCommands(program);
registerFenceCommands(program);
registerQuarantineCommands(program);
registerIdentityCommands(program);
registerLoginCommands(program);
registerApprovalCommands(program);
registerPlanCommands(program);
registerApiCommands(program);
registerStatusCommands(program);
registerConfigCommands(program);
registerSweepCommands(program);
registerReconcileCommands(program);
registerStoreCommands(program);
registerDrillCommands(program);

endQuietlyOnClosedOutput();
try {
  await program.parseAsync(process.argv);
} catch (err) {
  exitWithError(err);
}

// The workflow bundle's entry point: every workflow type the worker registers.
export { identityLifecycle } from './identity-lifecycle.js';
export { fence } from './fence.js';
export { accessRequest } from './access-request.js';
export { grantSweep } from './grant-sweep.js';
export { reconcileApplication } from './reconcile-application.js';
export { applicationQuarantine } from './application-quarantine.js';
export { policyRollout } from './policy-rollout.js';

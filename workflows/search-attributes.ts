// Search attributes that make the Temporal UI useful (registered by `stack up`). No names or e-mails.
import { defineSearchAttributeKey } from '@temporalio/common';

export const EmployeeId = defineSearchAttributeKey('EmployeeId', 'KEYWORD');
export const Department = defineSearchAttributeKey('Department', 'KEYWORD');
export const LifecycleEvent = defineSearchAttributeKey('LifecycleEvent', 'KEYWORD');
export const ProvisioningStatus = defineSearchAttributeKey('ProvisioningStatus', 'KEYWORD');
export const Application = defineSearchAttributeKey('Application', 'KEYWORD_LIST');
export const TicketId = defineSearchAttributeKey('TicketId', 'KEYWORD');
/** The quarantined applications a person's change waits for (workflows/identity/quarantine.ts). */
export const QuarantinedApplications = defineSearchAttributeKey('QuarantinedApplications', 'KEYWORD_LIST');

// The policy model (docs/architecture.md#policy): YAML files in a directory, each holding any of the sections
// below; the loader (policy/loader.ts) merges the sections of every file and checks what a schema
// cannot see (references, cycles, CEL conditions). Objects are strict: a misspelt key is an error,
// not a silently ignored setting.
import { z } from 'zod';
import { durationSchema } from './duration-schema.js';
import { employeeIdSchema } from './events.js';
import { reconcileSchema, type ReconcileDecl } from './reconcile.js';
import { applicationQuarantineSchema, quarantineSchema, type Quarantine } from './quarantine.js';

export { durationSchema };

/** Ids of roles, rules, approval rules, groups: lower-case, digits, `.`, `_`, `-`. */
export const idSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'an id is 1-64 lower-case letters, digits, ".", "_" or "-", starting with a letter or digit');

/** Application ids match the app names of config/apps.yaml: chat, code, crm, directory. */
export const appIdSchema = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'an application id is a lower-case name: letters, digits and dashes');

/** An entitlement id inside its application: a group, role or licence name. */
export const entitlementIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'an entitlement id is letters, digits, ".", "_" or "-", starting with a letter or digit');

/** An entitlement named across the policy: `<app>:<entitlement>`, e.g. `crm:refund-approve`. */
export const entitlementRefSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,31}:[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'an entitlement reference is "<app>:<entitlement>", e.g. crm:refund-approve');

// ---- identity attribute schema ------------------------------------------------------------------

export const attributeTypes = ['string', 'int', 'double', 'bool'] as const;
export type AttributeType = (typeof attributeTypes)[number];

const CEL_RESERVED = new Set([
  'true', 'false', 'null', 'in', 'as', 'break', 'const', 'continue', 'else', 'for', 'function', 'if',
  'import', 'let', 'loop', 'package', 'namespace', 'return', 'var', 'void', 'while', 'cel', 'has', 'dyn',
]);

/**
 * An attribute conditions may read. The worker snapshot's fields (schemas/events.ts: employeeId,
 * status, department, title, managerId, location, region, employmentType, costCenter, startDate,
 * endDate) are read from the snapshot; any other name is read from the snapshot's `extensions`.
 */
export const attributeSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'an attribute name is a CEL identifier: letters, digits and "_", not starting with a digit')
    .refine((n) => !CEL_RESERVED.has(n), { message: 'this name is reserved in CEL' }),
  type: z.enum(attributeTypes),
  description: z.string().optional(),
  /**
   * When a snapshot lacks the attribute (absent, null or of the wrong type): `evaluate` treats it
   * as absent, as conditions always did; `hold` keeps the person's access (no revoke or disable is
   * planned) and flags the change action-required until HR sends it (policy/data-quality.ts).
   */
  whenMissing: z.enum(['hold', 'evaluate']).optional(),
});
export type AttributeDecl = z.infer<typeof attributeSchema>;

// ---- approvals ----------------------------------------------------------------------------------

/**
 * Who approves: the beneficiary's manager, the application's owner (the members of its `owner`
 * approver group), security (the members of the approver group `security`, which must exist when
 * a rule names it), or the members of a named approver group.
 */
export const approverSchema = z.union([
  z.enum(['manager', 'app-owner', 'security']),
  z.string().regex(/^group:[a-z0-9][a-z0-9._-]{0,63}$/, 'an approver is manager, app-owner, security or group:<approver group id>'),
]);
export type ApproverSpec = z.infer<typeof approverSchema>;

/** A group of people who may approve: an application's owner, `security`, or a `group:<id>` approver. */
export const approverGroupSchema = z
  .strictObject({
    id: idSchema,
    description: z.string().optional(),
    /** The employee ids who may act for the group. Empty: nobody can, so its approvals escalate or are rejected. */
    members: z.array(employeeIdSchema).default([]),
  })
  .superRefine((g, ctx) => {
    const seen = new Set<string>();
    g.members.forEach((m, i) => {
      if (seen.has(m)) ctx.addIssue({ code: 'custom', path: ['members', i], message: `${m} is listed twice in approver group ${g.id}` });
      seen.add(m);
    });
  });
export type ApproverGroup = z.infer<typeof approverGroupSchema>;

export const approvalRuleSchema = z
  .strictObject({
    id: idSchema,
    description: z.string().optional(),
    /** sequential: every approver in order; any-of: one of them; n-of-m: `required` of them. */
    mode: z.enum(['sequential', 'any-of', 'n-of-m']),
    approvers: z.array(approverSchema),
    /** For n-of-m: how many distinct approvals are needed. */
    required: z.number().int().min(1).optional(),
    /** How long a decision (a stage, in sequential mode) may take before it times out. */
    timeout: durationSchema.default('P7D'),
    /**
     * When a reminder goes to the approvers who have not decided (once per approval, a sequential
     * chain's stages each). Absent: half the timeout.
     */
    reminder: durationSchema.optional(),
    /** After `after` without a decision, `to` may decide too. */
    escalation: z.strictObject({ after: durationSchema, to: approverSchema }).optional(),
    /** What a timeout means: the request is rejected, or it goes to the escalation approver. */
    onTimeout: z.enum(['reject', 'escalate']).default('reject'),
  })
  .superRefine((r, ctx) => {
    if (r.approvers.length === 0) ctx.addIssue({ code: 'custom', path: ['approvers'], message: 'an approval chain without approvers: name at least one (manager, app-owner, security or group:<id>)' });
    if (r.mode === 'n-of-m' && r.required === undefined) ctx.addIssue({ code: 'custom', path: ['mode'], message: 'n-of-m needs `required`: how many of the approvers must approve' });
    if (r.required !== undefined && r.mode !== 'n-of-m') ctx.addIssue({ code: 'custom', path: ['required'], message: `\`required\` only applies to mode n-of-m (this rule is ${r.mode})` });
    if (r.required !== undefined && r.required > r.approvers.length) ctx.addIssue({ code: 'custom', path: ['required'], message: `requires ${r.required} approvals but names only ${r.approvers.length} approver(s)` });
    if (new Set(r.approvers).size !== r.approvers.length) ctx.addIssue({ code: 'custom', path: ['approvers'], message: 'an approver is listed twice' });
    if (r.onTimeout === 'escalate' && r.escalation === undefined) ctx.addIssue({ code: 'custom', path: ['onTimeout'], message: 'onTimeout: escalate needs an `escalation` (after, to)' });
  });
export type ApprovalRule = z.infer<typeof approvalRuleSchema>;

// ---- applications and entitlements --------------------------------------------------------------

export const sensitivities = ['low', 'medium', 'high', 'privileged'] as const;
export type Sensitivity = (typeof sensitivities)[number];

export const entitlementSchema = z.strictObject({
  id: entitlementIdSchema,
  description: z.string().optional(),
  kind: z.enum(['group', 'role', 'licence']).default('group'),
  sensitivity: z.enum(sensitivities).default('low'),
  /** The approval rule a new holder needs; defaults to the application's `approval`. */
  approval: idSchema.optional(),
  /** The longest a requested grant may last; a grant without an expiry ends after this. */
  maxDuration: durationSchema.optional(),
});
export type EntitlementDecl = z.infer<typeof entitlementSchema>;

/** Days before a start date; fractions allowed (0.5 is twelve hours), at most a year. */
const prehireDaysSchema = z.number().min(0, 'prehireDays is 0 (on the start date) or more days').max(366, 'prehireDays is at most 366 days');

/** An IANA time zone the runtime knows (Europe/Berlin, UTC). */
const timeZoneSchema = z.string().refine(
  (tz) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  },
  { message: 'not a time zone: use an IANA name such as UTC or Europe/Berlin' },
);

export const applicationSchema = z.strictObject({
  id: appIdSchema,
  description: z.string().optional(),
  connector: z.enum(['scim', 'ldap']),
  /** The connector's configuration entry (the app of its entry in config/connectors.yaml); never credentials. */
  config: z.string().min(1),
  /** The approver group that owns the application (the `app-owner` approver). */
  owner: idSchema,
  classification: z.enum(['public', 'internal', 'confidential', 'restricted']),
  /** Data residency: identities whose region is not listed get no access. Absent: every region. */
  allowedRegions: z.array(z.string().min(1)).min(1).optional(),
  /** Adopting an account that exists before we provision: how to match it, and whether to adopt it. */
  correlation: z
    .strictObject({
      matchBy: z.enum(['email', 'userName']),
      adopt: z.enum(['automatic', 'after-approval', 'never']),
      /** For after-approval: the approval rule; defaults to the application's `approval`. */
      approval: idSchema.optional(),
    })
    .optional(),
  /** The default approval rule of the application's entitlements. */
  approval: idSchema.optional(),
  /** How many days before a future start the account is made (disabled); absent: lifecycle.prehireDays. Policy/dated.ts. */
  prehireDays: prehireDaysSchema.optional(),
  entitlements: z.array(entitlementSchema).default([]),
  /**
   * The account's attributes, each a CEL expression of type string over the identity's attributes
   * (policy/attribute-map.ts has the vocabulary per connector). Absent: userName and e-mail from
   * `email`, the name from `givenName` and `familyName`, as before attribute maps existed.
   */
  attributes: z.record(z.string(), z.string().min(1)).optional(),
  /** A changed userName (SCIM) or uid (LDAP): renamed, or left for a human (the default). */
  rename: z.enum(['allowed', 'action-required']).optional(),
  /** Reconciliation of this application (schemas/reconcile.ts); overrides the top-level `reconcile` key by key. */
  reconcile: reconcileSchema.optional(),
  /** Quarantine settings of this application (schemas/quarantine.ts); absent fields: the top-level `quarantine`. */
  quarantine: applicationQuarantineSchema.optional(),
});
export type ApplicationDecl = z.infer<typeof applicationSchema>;

// ---- roles, birthright rules, separation of duties ----------------------------------------------

export const roleSchema = z.strictObject({
  id: idSchema,
  description: z.string().optional(),
  inherits: z.array(idSchema).default([]),
  entitlements: z.array(entitlementRefSchema).default([]),
});
export type RoleDecl = z.infer<typeof roleSchema>;

export const birthrightRuleSchema = z.strictObject({
  id: idSchema,
  description: z.string().optional(),
  /** A CEL condition over the identity attributes; must be of type bool. */
  when: z.string().min(1),
  roles: z.array(idSchema).min(1),
});
export type BirthrightRuleDecl = z.infer<typeof birthrightRuleSchema>;

export const sodRuleSchema = z
  .strictObject({
    id: idSchema,
    description: z.string().optional(),
    /** block: the conflicting access is not granted; review: it needs the rule's approval. */
    severity: z.enum(['block', 'review']),
    /** Holding two or more of these (entitlements and roles, directly or by inheritance) is a conflict. */
    entitlements: z.array(entitlementRefSchema).default([]),
    roles: z.array(idSchema).default([]),
    /** For review: the approval rule that reviews the conflict. */
    approval: idSchema.optional(),
  })
  .refine((r) => r.entitlements.length + r.roles.length >= 2, {
    message: 'a separation-of-duties rule names at least two entitlements or roles',
  });
export type SodRuleDecl = z.infer<typeof sodRuleSchema>;

// ---- fencing and lifecycle ----------------------------------------------------------------------

/** Held when more than max(absolute, ceil(share × population)) happen in the window. */
export const thresholdSchema = z
  .strictObject({
    absolute: z.number().int().min(0).optional(),
    share: z.number().min(0).max(1).optional(),
  })
  .refine((t) => t.absolute !== undefined || t.share !== undefined, { message: 'give absolute, share or both' });
export type Threshold = z.infer<typeof thresholdSchema>;

/** Removals, and grants: a surge of grants (a policy edit that makes everyone an admin) trips the fence like a surge of removals. */
export const fencedActions = ['disableAccount', 'revoke', 'deleteAccount', 'grant'] as const;
export type FencedAction = (typeof fencedActions)[number];

export const thresholdsSchema = z.strictObject({
  disableAccount: thresholdSchema.optional(),
  revoke: thresholdSchema.optional(),
  deleteAccount: thresholdSchema.optional(),
  /** Grants are fenced only where a threshold names them (no default: a joiner surge is not held unless the policy says so). */
  grant: thresholdSchema.optional(),
});
export type Thresholds = z.infer<typeof thresholdsSchema>;

export const defaultThresholds: Thresholds = {
  disableAccount: { absolute: 50, share: 0.02 },
  revoke: { absolute: 200, share: 0.05 },
  deleteAccount: { absolute: 50, share: 0.02 },
};

export const fencingSchema = z.strictObject({
  /** The sliding window destructive steps are counted in. */
  window: durationSchema.default('PT15M'),
  /**
   * Per source (`default`, a feed such as hr.lifecycle, `reconcile/<app>`, or a family such as
   * `reconcile/*` or `policy/*`). A source the policy does not name counts against the one shared
   * `default` budget, never a fresh one of its own (policy/fencing.ts sourceBudget).
   */
  perSource: z.record(z.string(), thresholdsSchema).default({ default: defaultThresholds }),
  /** Per application (`default`, or an application id). */
  perApplication: z.record(z.string(), thresholdsSchema).default({ default: defaultThresholds }),
  /** How many distinct operators must release a held batch before it runs: 2 is the two-person rule. */
  releasesRequired: z
    .number()
    .int()
    .min(1, 'releasesRequired is how many distinct operators release a held batch: 1 to 5 (2 is the two-person rule)')
    .max(5, 'releasesRequired is how many distinct operators release a held batch: 1 to 5 (2 is the two-person rule)')
    .default(1),
  /**
   * A fixed population the shares multiply, for when the identities in the store are not the
   * population yet (a first import, a new feed). Absent: the number of identities in the store.
   */
  population: z.number().int().min(1, 'population is a number of people: 1 or more (leave it out to use the identities in the store)').optional(),
});
export type Fencing = z.infer<typeof fencingSchema>;

export const lifecycleSchema = z.strictObject({
  /** A mover keeps access they lose for this long (additions happen at once). */
  moverGracePeriod: durationSchema.default('P7D'),
  /** A leaver's accounts are disabled at once and deleted after this. */
  leaverDeletionDelay: durationSchema.default('P30D'),
  /** Personal data of a leaver is purged (crypto-shredded) after this. */
  personalDataRetention: durationSchema.default('P2Y'),
  /** During a leave of absence: keep the accounts as they are, or disable them until the return. */
  onLeave: z.enum(['keep', 'disable']).default('keep'),
  /** A future start: accounts are made (disabled) this many days before it, enabled at the start. 0: on the start date. */
  prehireDays: prehireDaysSchema.default(0),
  /** Where a `startDate` (a date) begins: its start of day in this zone. */
  timezone: timeZoneSchema.default('UTC'),
  /** A snapshot whose sequence jumps further ahead of the person's last applied one is held for an operator (policy/sequence-jump.ts). */
  maxSequenceJump: z.number().int('maxSequenceJump is a whole number of sequence steps').positive('maxSequenceJump is 1 or more').default(1_000_000),
});
export type Lifecycle = z.infer<typeof lifecycleSchema>;

// ---- one file, and the merged model -------------------------------------------------------------

/** One YAML file of the policy directory: any of the sections. */
export const policyFileSchema = z.strictObject({
  attributes: z.array(attributeSchema).optional(),
  /** The regions identities live in; `allowedRegions` must name these. */
  regions: z.array(z.string().min(1)).optional(),
  approverGroups: z.array(approverGroupSchema).optional(),
  applications: z.array(applicationSchema).optional(),
  roles: z.array(roleSchema).optional(),
  birthright: z.array(birthrightRuleSchema).optional(),
  separationOfDuties: z.array(sodRuleSchema).optional(),
  approvals: z.array(approvalRuleSchema).optional(),
  fencing: fencingSchema.optional(),
  lifecycle: lifecycleSchema.optional(),
  reconcile: reconcileSchema.optional(),
  quarantine: quarantineSchema.optional(),
});
export type PolicyFile = z.infer<typeof policyFileSchema>;

/** The list sections, merged across files, and the schema of one item of each. */
export const listSections = ['attributes', 'regions', 'approverGroups', 'applications', 'roles', 'birthright', 'separationOfDuties', 'approvals'] as const;
export type ListSection = (typeof listSections)[number];
export const sectionItemSchemas = {
  attributes: attributeSchema,
  regions: z.string().min(1),
  approverGroups: approverGroupSchema,
  applications: applicationSchema,
  roles: roleSchema,
  birthright: birthrightRuleSchema,
  separationOfDuties: sodRuleSchema,
  approvals: approvalRuleSchema,
} satisfies Record<ListSection, z.ZodType>;

/** The sections at most one file may hold. */
export const singleSections = ['fencing', 'lifecycle', 'reconcile', 'quarantine'] as const;
export type SingleSection = (typeof singleSections)[number];
export const singleSectionSchemas = { fencing: fencingSchema, lifecycle: lifecycleSchema, reconcile: reconcileSchema, quarantine: quarantineSchema } satisfies Record<SingleSection, z.ZodType>;

/** The whole policy: every file's sections merged, with defaults for what no file sets. */
export type PolicyModel = {
  attributes: AttributeDecl[];
  regions: string[];
  approverGroups: ApproverGroup[];
  applications: ApplicationDecl[];
  roles: RoleDecl[];
  birthright: BirthrightRuleDecl[];
  separationOfDuties: SodRuleDecl[];
  approvals: ApprovalRule[];
  fencing: Fencing;
  lifecycle: Lifecycle;
  /** The default reconciliation settings (schemas/reconcile.ts). */
  reconcile: ReconcileDecl;
  /** The default quarantine settings (schemas/quarantine.ts). */
  quarantine: Quarantine;
};

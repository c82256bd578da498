-- The governance store: who exists, what they have in which application, and why.
-- People are keyed by a pseudonymous person_id; the employee id appears only in `identities`, and
-- personal attributes only as ciphertext under the person's own key (`person_keys`). Purging a
-- person deletes their identity row, which cascades to every row that describes them.

create table identities (
  person_id             uuid primary key,
  employee_id           text not null unique,
  -- null: known only as an actor or an audit subject, no HR snapshot stored yet
  status                text check (status in ('pre-hire', 'active', 'on-leave', 'terminated')),
  terminated_at         timestamptz,
  -- the sequence of the stored snapshot, and of the last snapshot whose change was applied
  snapshot_sequence     bigint not null default -1,
  last_applied_sequence bigint not null default -1,
  -- the HR snapshot, AES-256-GCM under the person's key (see store/person-keys.ts)
  attributes            bytea,
  created_at            timestamptz not null default now(),
  updated_at            timestamptz not null default now(),
  check ((status = 'terminated') = (terminated_at is not null))
);
-- retention scans for leavers past the retention period
create index identities_terminated on identities (terminated_at) where status = 'terminated';

-- One data key per person, wrapped by a key-encryption key kept outside the database. Deleting the
-- row is crypto-shredding: every ciphertext sealed with that key, including those in the audit
-- chain, becomes unreadable.
create table person_keys (
  person_id   uuid primary key references identities (person_id) on delete cascade,
  kek_id      text not null,
  wrapped_key bytea not null,
  created_at  timestamptz not null default now()
);

create table accounts (
  person_id  uuid not null references identities (person_id) on delete cascade,
  app        text not null,
  -- the application's own id for the account (SCIM id, LDAP DN)
  account_id text not null,
  status     text not null check (status in ('active', 'disabled', 'deleted')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (person_id, app)
);

create table policy_versions (
  -- the policy's content hash, as recorded in every decision and audit record
  version    text primary key,
  source     text not null,
  loaded_at  timestamptz not null default now()
);

create table grants (
  grant_id       uuid primary key default gen_random_uuid(),
  person_id      uuid not null references identities (person_id) on delete cascade,
  app            text not null,
  entitlement_id text not null,
  -- why the person has it: a birthright rule, an approved request, or a documented exception
  provenance     text not null check (provenance in ('birthright', 'request', 'exception')),
  -- the rule id, the ticket id or the exception reference
  source_ref     text not null,
  approval_id    text,
  policy_version text,
  granted_at     timestamptz not null default now(),
  expires_at     timestamptz,
  revoked_at     timestamptz,
  revoke_reason  text
);
-- one live grant per person, entitlement and provenance: a retried grant converges
create unique index grants_live on grants (person_id, app, entitlement_id, provenance, source_ref) where revoked_at is null;
create index grants_expiring on grants (expires_at) where revoked_at is null and expires_at is not null;

create table approvals (
  approval_id    text primary key,
  -- the beneficiary
  person_id      uuid not null references identities (person_id) on delete cascade,
  requester_id   uuid references identities (person_id) on delete set null,
  ticket_id      text,
  app            text not null,
  entitlement_id text not null,
  -- which policy rule asks for this approval (manager, app owner, security, a group)
  approver_rule  text not null,
  status         text not null default 'pending' check (status in ('pending', 'approved', 'rejected', 'expired')),
  decided_by     uuid references identities (person_id) on delete set null,
  decided_at     timestamptz,
  -- free text may name people: sealed under the beneficiary's key
  comment        bytea,
  deadline       timestamptz,
  created_at     timestamptz not null default now(),
  -- a hard invariant, not a setting: nobody approves their own request or their own access
  check (decided_by is null or (decided_by <> person_id and decided_by is distinct from requester_id)),
  check ((status = 'pending') = (decided_at is null))
);
create index approvals_pending on approvals (created_at) where status = 'pending';

-- A change is one event's effect on one person: its plan, then its outcome.
create table plans (
  change_id      text primary key,
  person_id      uuid not null references identities (person_id) on delete cascade,
  event_id       text not null,
  sequence       bigint not null,
  policy_version text not null,
  steps          jsonb not null,
  created_at     timestamptz not null default now()
);

create table outcomes (
  change_id      text primary key,
  person_id      uuid not null references identities (person_id) on delete cascade,
  event_id       text not null,
  event_type     text not null,
  sequence       bigint not null,
  status         text not null check (status in ('succeeded', 'action-required', 'failed', 'ignored')),
  policy_version text not null,
  ticket_id      text,
  steps          jsonb not null,
  reason         text,
  completed_at   timestamptz not null,
  recorded_at    timestamptz not null default now()
);
create index outcomes_person on outcomes (person_id, completed_at);

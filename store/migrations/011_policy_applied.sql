-- Policy versions applied (`provisioner policy apply`, DESIGN.md §3): each applied version with its
-- content (the YAML files; policies hold no secrets), who applied it and why, in the order applied.
-- The newest row is the policy in force: the workers load it from here without a restart. The
-- first worker of a store that never had a version applied records the policy folder's version as
-- applied by `system:startup`. Written by store/policy-applied.ts with its audit record
-- (`policy.applied`).
create table policy_applied (
  seq              bigserial primary key,
  version          text not null,
  -- names the rollout (workflow `policy-rollout/<rollout_id>`, re-evaluation `policy/<rollout_id>`):
  -- the version, or `<version>@<seq>` when the version was applied before (people plan it again)
  rollout_id       text not null unique,
  -- the version in force before this one (null for the first)
  previous_version text,
  -- [{ name, content }] sorted by name: the files whose hash is `version`
  content          jsonb not null,
  -- a person (null once they were purged), or the system (`system:startup`)
  applied_by       uuid references identities (person_id) on delete set null,
  applied_by_system text,
  applied_at       timestamptz not null default now(),
  -- a person's words (free text may name people): sealed under their key, like an operator's mode reason
  reason           bytea,
  system_reason    text,
  -- the rollout: `pending` (not started), `evaluating`, `signalling`, `completed`, `failed`, `superseded`
  status           text not null default 'pending' check (status in ('pending', 'evaluating', 'signalling', 'completed', 'failed', 'superseded')),
  evaluated        integer not null default 0,
  changed          integer not null default 0,
  rollout_error    text,
  check (applied_by is null or applied_by_system is null)
);
create index policy_applied_version on policy_applied (version);

-- The people a rollout must re-evaluate: those whose desired state differs between the previous
-- version and this one (policy/diff.ts), computed from the store, kept here rather than in the
-- rollout workflow's history; `signalled_at` is set once their workflow was asked to plan again.
create table policy_rollout_targets (
  seq          bigint not null references policy_applied (seq) on delete cascade,
  person_id    uuid not null references identities (person_id) on delete cascade,
  gains        integer not null,
  loses        integer not null,
  signalled_at timestamptz,
  primary key (seq, person_id)
);
create index policy_rollout_pending on policy_rollout_targets (seq, person_id) where signalled_at is null;

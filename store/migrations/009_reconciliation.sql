-- Reconciliation (issue 19): one row per run of an application's reconciliation, its listing page
-- by page (kept here, never in the workflow history), and the drift it found. Personal values of
-- the listing (userName, e-mail, mapped attribute values) are kept only as keyed digests
-- (store/blind-index.ts): the comparison needs equality, never the values. Runs are deleted with
-- their listing and findings (on delete cascade); the audit chain keeps what was found.

create table reconcile_runs (
  -- the workflow id: reconcile/<app>/...
  run_id               text primary key,
  app                  text not null,
  dry_run              boolean not null,
  policy_version       text,
  status               text not null check (status in ('listing', 'comparing', 'remediating', 'completed', 'failed')),
  started_at           timestamptz not null default now(),
  finished_at          timestamptz,
  -- the listing: complete when it reached its last page
  listing_complete     boolean not null default false,
  listing_failure      text,
  pages                integer not null default 0,
  accounts             integer not null default 0,
  reported_total       integer,
  entitlements_unknown integer not null default 0,
  -- why the run's removals were stopped (policy/reconcile-safety.ts); empty: they were not
  removals_blocked     jsonb not null default '[]',
  -- findings per drift kind, and what the run did about them
  counts               jsonb not null default '{}',
  remediation          jsonb not null default '{}'
);
create index reconcile_runs_app on reconcile_runs (app, started_at desc);

-- Each page as listed: the cursor that fetched it and the one after it, so a listing that lost its
-- worker resumes after its last stored page.
create table reconcile_pages (
  run_id      text not null references reconcile_runs (run_id) on delete cascade,
  page_no     integer not null,
  cursor      text,
  next_cursor text,
  items       integer not null,
  listed_at   timestamptz not null default now(),
  primary key (run_id, page_no)
);

create table reconcile_accounts (
  run_id               text not null references reconcile_runs (run_id) on delete cascade,
  -- the application's handle (SCIM id, LDAP DN) and its correlation key (the employee id)
  account_id           text not null,
  external_id          text,
  active               boolean not null,
  entitlements         text[],
  entitlements_unknown text,
  -- keyed digests (hex) of the correlation values and of the mapped attributes' values
  user_name_digest     text,
  email_digest         text,
  attribute_digests    jsonb,
  page_no              integer not null,
  primary key (run_id, account_id)
);

create table drift_findings (
  run_id         text not null references reconcile_runs (run_id) on delete cascade,
  -- stable across runs (policy/drift.ts findingKey): the same difference has the same key
  finding_key    text not null,
  app            text not null,
  kind           text not null,
  account_id     text,
  employee_id    text,
  entitlement_id text,
  attribute      text,
  unmanaged      boolean not null default false,
  detail         text not null,
  -- what the run did: report, fix (re-evaluation asked), disable (orphan disabled), or why not
  remediation    text not null default 'report',
  primary key (run_id, finding_key)
);
create index drift_findings_kind on drift_findings (app, kind);

-- The findings open per application: audited when they first appear, and resolved (audited again)
-- when a complete listing no longer shows them.
create table drift_open (
  app         text not null,
  finding_key text not null,
  kind        text not null,
  first_run   text not null,
  last_run    text not null,
  first_seen  timestamptz not null default now(),
  primary key (app, finding_key)
);

-- Application modes (DESIGN.md §5 "Safe by default"): whether an operator armed an application
-- (its steps are written) or put it in plan-only mode (planned, recorded and audited, nothing
-- written). An application without a row has the configuration's default (`safety.planOnly`).
-- Written by store/application-modes.ts together with its audit record (`application.armed` /
-- `application.disarmed`); the audit chain keeps the history, this table the current mode.

create table application_modes (
  -- the policy's application id
  app        text primary key check (app ~ '^[a-z][a-z0-9-]{0,31}$'),
  mode       text not null check (mode in ('plan-only', 'armed')),
  -- the operator who set the mode; null once they were purged
  changed_by uuid references identities (person_id) on delete set null,
  changed_at timestamptz not null default now(),
  -- the operator's words (free text may name people): sealed under the operator's key, bound to
  -- the application (see store/person-keys.ts); unreadable once the operator was purged
  reason     bytea not null
);

-- Quarantine of failing applications (store/quarantine.ts): the retryable connector failures of
-- every worker, counted per application in the policy's window, and the applications quarantined
-- now. A row in application_quarantine is written with its audit record (`application.quarantined`,
-- `application.quarantine-held`, `application.released`); the audit chain keeps the history.

create table application_failures (
  id         bigserial primary key,
  app        text not null check (app ~ '^[a-z][a-z0-9-]{0,31}$'),
  failed_at  timestamptz not null default now(),
  -- the failure's class (TransientError), never its message: it can name a person
  error_type text not null
);
create index application_failures_app_time on application_failures (app, failed_at);

create table application_quarantine (
  app             text primary key check (app ~ '^[a-z][a-z0-9-]{0,31}$'),
  -- quarantined: the probe releases it when it answers; held: only an operator releases it
  state           text not null check (state in ('quarantined', 'held')),
  -- why, without personal data (the failures counted, or that an operator holds it)
  reason          text not null,
  since           timestamptz not null default now(),
  -- system:quarantine, or the operator's employee id
  actor           text not null,
  last_probe_at   timestamptz,
  -- the last probe's failure class and status, when it failed
  last_probe_error text
);

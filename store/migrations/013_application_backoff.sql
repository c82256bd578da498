-- The pause an application asked for (HTTP Retry-After on a 429 or 503, store/application-backoff.ts):
-- every worker reads it before it calls the application, so a Retry-After given to one worker's
-- call holds the calls of every worker, and a quarantine's release does not send the woken
-- workflows back before it has passed. On the database's clock: the workers' clocks may differ.
create table application_backoff (
  app        text primary key check (app ~ '^[a-z][a-z0-9-]{0,31}$'),
  not_before timestamptz not null
);

-- The fence in the store (DESIGN.md §4 Fence, store/fence.ts): every fenced step's permit is asked
-- in one short transaction under an advisory lock per fence (per deployment, `fence/<taskQueue>`),
-- which counts the steps let through in the sliding window per scope, lets the ask through or
-- holds it in the open batch, and answers a retried ask (same request id) as it did the first
-- time. Operators release or reject a batch, or single people in it; each decision is written with
-- its audit record. Rows name people by employee id only (as workflow ids do), never by name.

create table fence_batches (
  fence_id          text not null,
  batch_id          text not null,
  status            text not null check (status in ('open', 'released', 'rejected')),
  opened_at         timestamptz not null default now(),
  -- the thresholds that tripped, in words
  reasons           jsonb not null default '[]',
  -- the scope keys it holds: a later ask in one of them joins it while it is open
  scopes            text[] not null default '{}',
  releases_required int not null check (releases_required between 1 and 5),
  released_by       text[] not null default '{}',
  decided_by        text[],
  decided_at        timestamptz,
  primary key (fence_id, batch_id)
);
-- at most one open batch per fence
create unique index fence_batches_one_open on fence_batches (fence_id) where status = 'open';

-- per fence: the next batch number, and the window of the latest ask (what `fence list` counts in)
create table fence_counters (
  fence_id   text primary key,
  next_batch int not null default 1,
  window_ms  bigint not null check (window_ms > 0)
);

create table fence_requests (
  fence_id    text not null,
  request_id  text not null,
  workflow_id text not null,
  employee_id text not null,
  source      text not null,
  -- the source budget it counted against (policy/fencing.ts sourceBudget)
  budget      text not null,
  steps       jsonb not null,
  -- the first answer, given again to a retried ask
  answer      jsonb not null,
  status      text not null check (status in ('allowed', 'held', 'released', 'rejected', 'withdrawn')),
  batch_id    text,
  -- operators who released this person alone (a batch's releases count for everyone in it)
  released_by text[] not null default '{}',
  asked_at    timestamptz not null default now(),
  decided_by  text[],
  decided_at  timestamptz,
  primary key (fence_id, request_id),
  check ((status = 'allowed') = (batch_id is null))
);
create index fence_requests_held on fence_requests (fence_id, batch_id, asked_at) where status = 'held';

-- one row per ask (or release) and scope key let through: the window's counts
create table fence_admitted (
  fence_id   text not null,
  scope_key  text not null,
  at         timestamptz not null,
  steps      int not null check (steps > 0),
  request_id text not null
);
create index fence_admitted_window on fence_admitted (fence_id, scope_key, at);

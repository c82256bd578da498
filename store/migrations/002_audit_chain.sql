-- The audit chain: append-only records, each holding the hash of the one before it and an Ed25519
-- signature. `body` is the exact canonical JSON that was hashed and signed; the other columns are
-- copies of its fields for querying, which verification checks against the body.

-- The head of the chain. Appends lock this one row (select ... for update) until they commit, which
-- serialises them: the chain cannot fork, and records become visible strictly in seq order.
create table audit_head (
  id       boolean primary key default true check (id),
  chain_id uuid not null default gen_random_uuid(),
  seq      bigint not null default 0,
  hash     text not null default repeat('0', 64)
);
insert into audit_head default values;

create table audit_records (
  seq         bigint primary key check (seq > 0),
  record_id   uuid not null unique,
  hash        text not null,
  body        text not null,
  signature   text not null,
  recorded_at timestamptz not null,
  -- 'person:<person id>' | 'system:<name>' | 'service:<name>'
  actor       text not null,
  action      text not null,
  -- the person the record is about, by pseudonymous id (no foreign key: a purge never touches the chain)
  subject     uuid,
  apps        text[] not null default '{}'
);
create index audit_records_subject on audit_records (subject, seq) where subject is not null;
create index audit_records_actor on audit_records (actor, seq);
create index audit_records_time on audit_records (recorded_at);
create index audit_records_apps on audit_records using gin (apps);

-- Defence in depth: the application never updates or deletes a record. (Anyone who can disable
-- triggers can still tamper; verification is what detects that.)
create function audit_records_append_only() returns trigger language plpgsql as $$
begin
  raise exception 'audit_records is append-only: % refused', tg_op using errcode = 'insufficient_privilege';
end
$$;
create trigger audit_records_no_change before update or delete on audit_records
  for each row execute function audit_records_append_only();
create trigger audit_records_no_truncate before truncate on audit_records
  for each statement execute function audit_records_append_only();

-- Idempotency keys of appends (e.g. an activity's step key), so a retried activity does not write
-- its record twice. Digests only; rows of a purged person go with their identity.
create table audit_dedupe (
  key_digest bytea primary key,
  seq        bigint not null,
  person_id  uuid references identities (person_id) on delete cascade
);

-- The outbox cursor for `provisioning.audit`: every record with seq > published_seq is still to be
-- produced. The chain itself is the outbox (see store/audit-publisher.ts).
create table audit_publication (
  id            boolean primary key default true check (id),
  published_seq bigint not null default 0,
  updated_at    timestamptz not null default now()
);
insert into audit_publication default values;

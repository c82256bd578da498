-- Approval gates (workflows/approval-chain.ts): an approval knows the workflow that holds it, its
-- stage and mode, who may decide it, whether it was escalated or reminded, and why it closed; each
-- approver's vote is a row of its own (n-of-m needs several). Written by store/approval-gates.ts
-- from the events the gates emit, so the store shows what the workflows decided.

alter table approvals
  add column workflow_id text,
  -- 0-based, as in workflows/approval-chain.ts (the approval id counts from 1)
  add column stage       int check (stage >= 0),
  add column mode        text check (mode in ('sequential', 'any-of', 'n-of-m')),
  add column required    int check (required >= 1),
  -- employee ids who may decide it (before the beneficiary/requester exclusion)
  add column eligible    text[] not null default '{}',
  add column escalated   boolean not null default false,
  add column reminded_at timestamptz,
  -- why it closed (expired, withdrawn, no eligible approver): rule and approval ids, no names
  add column reason      text;

-- A gate withdraws the approvals still pending when another one is rejected or the request is superseded.
alter table approvals drop constraint if exists approvals_status_check;
alter table approvals add constraint approvals_status_check
  check (status in ('pending', 'approved', 'rejected', 'expired', 'withdrawn'));

-- "What may I decide?": pending approvals by eligible approver.
create index approvals_pending_eligible on approvals using gin (eligible) where status = 'pending';
create index approvals_ticket on approvals (ticket_id) where ticket_id is not null;

create table approval_votes (
  approval_id text not null references approvals (approval_id) on delete cascade,
  -- null once the approver was purged (as approvals.decided_by)
  approver    uuid references identities (person_id) on delete set null,
  decision    text not null check (decision in ('approved', 'rejected')),
  -- free text may name people: sealed under the beneficiary's key, like approvals.comment
  comment     bytea,
  channel     text not null check (channel in ('api', 'itsm')),
  -- the ITSM event that carried the decision
  event_id    text,
  decided_at  timestamptz not null,
  recorded_at timestamptz not null default now(),
  unique (approval_id, approver)
);
create index approval_votes_approver on approval_votes (approver) where approver is not null;

-- A hard invariant, not a setting (as the check on approvals.decided_by): nobody votes on their own
-- request or their own access. A check constraint cannot look at the approval row, so a trigger does.
create function approval_votes_not_self() returns trigger language plpgsql as $$
begin
  if new.approver is not null and exists (
    select 1 from approvals a
     where a.approval_id = new.approval_id and (a.person_id = new.approver or a.requester_id = new.approver)
  ) then
    raise exception 'approval %: the beneficiary or the requester cannot vote on it', new.approval_id
      using errcode = 'check_violation';
  end if;
  return new;
end
$$;
create trigger approval_votes_not_self before insert or update on approval_votes
  for each row execute function approval_votes_not_self();

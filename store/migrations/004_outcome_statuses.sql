-- Outcomes a change can end with beyond the first four: `superseded` (a termination cut a change
-- short), and for access requests `rejected` (an approver said no, or the deadline passed) and
-- `blocked` (policy refused the request: eligibility, separation of duties, maximum duration).
alter table outcomes drop constraint if exists outcomes_status_check;
alter table outcomes add constraint outcomes_status_check
  check (status in ('succeeded', 'action-required', 'failed', 'ignored', 'superseded', 'rejected', 'blocked'));

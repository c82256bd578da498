-- A reconciliation's worklist kept beside its findings (workflows/reconcile-application.ts, the
-- paged remediation): the workflow's history holds counts, never the people or orphans. `pending`
-- says what the run still has to do about a finding (re-evaluate its person, disable its orphan);
-- it is cleared when done, so a retried page never asks or disables twice. `work_page` is the page
-- of orphan disables a finding was put in: the page the fence was asked about is the page disabled.
alter table drift_findings add column pending text check (pending in ('reevaluate', 'disable'));
alter table drift_findings add column work_page integer;
create index drift_findings_pending on drift_findings (run_id, pending, employee_id, finding_key) where pending is not null;
-- a page of orphans is read and settled by its number: one index walk, not a scan of the run's findings
create index drift_findings_work_page on drift_findings (run_id, work_page) where work_page is not null;

-- A run of a quarantined application is skipped: nothing listed, compared or remedied.
alter table reconcile_runs drop constraint reconcile_runs_status_check;
alter table reconcile_runs add constraint reconcile_runs_status_check check (status in ('listing', 'comparing', 'remediating', 'completed', 'failed', 'skipped'));

-- Employee ids compare case-insensitively wherever a person acts on their own record
-- (policy/employee-ids.ts): an approver whose token says `e1001` is the identity HR sent as
-- `E1001`. Look-ups by upper(employee_id) (store/person-keys.ts `personIdOf`) use this index; the
-- ids themselves stay as sent (workflow ids are built from them).
create index identities_employee_key on identities (upper(employee_id));
